"""Late records: counted and routed to a stream of their own instead of silently dropped.

Flink's event-time operators (windows, OVER aggregates, MATCH_RECOGNIZE) drop a record whose
event time is at or behind the watermark. Kinesis Data Analytics sent such rows to its error
stream; tidebox does the same. The job's source table is declared under an inner name, and
the name the job's query uses becomes a view of the on-time records only::

    <source>  = SELECT * FROM <source>__all WHERE ts > CURRENT_WATERMARK(ts)  (or no watermark yet)
    <job>_late <- SELECT ... FROM <source>__all WHERE ts <= CURRENT_WATERMARK(ts)

Both read one source scan (Flink reuses it), so every record lands in exactly one of them.
A record the filter lets through is never late for a window downstream: that window's
watermark is at most the source's when the record passes.
"""

from __future__ import annotations

import re

from tidebox.core.settings import StreamSpec
from tidebox.flink.ddl import quote
from tidebox.flink.functions import uses_functions

LATE_SUFFIX = "_late"
INNER_SUFFIX = "__all"
# the error stream's columns, after Kinesis Data Analytics' error stream
LATE_COLUMNS: dict[str, str] = {
    "error_time": "TIMESTAMP_LTZ(3)",
    "error_name": "STRING",
    "message": "STRING",
    "source": "STRING",
    "data_rowtime": "TIMESTAMP_LTZ(3)",
    "watermark": "TIMESTAMP_LTZ(3)",
    "data_row": "STRING",
}
_EVENT_TIME_OPERATORS = re.compile(
    r"\b(TUMBLE|HOP|CUMULATE|SESSION|OVER|MATCH_RECOGNIZE)\s*\(", re.IGNORECASE
)


def uses_event_time(statements: list[str] | tuple[str, ...]) -> bool:
    """True when the job has an operator that drops records behind the watermark (tidebox's
    forest functions score in event-time order, so they do too)."""
    return any(_EVENT_TIME_OPERATORS.search(s) or uses_functions(s) for s in statements)


def late_stream_spec(name: str) -> StreamSpec:
    return StreamSpec(name=name, shards=1, time_field="data_rowtime", columns=LATE_COLUMNS)


def routed_sources(sources: tuple[StreamSpec, ...]) -> list[StreamSpec]:
    """The sources with an event-time column: the ones whose late records can be told apart."""
    return [s for s in sources if s.time_field and s.time_field in s.columns]


def on_time_view(spec: StreamSpec) -> str:
    ts, inner = quote(spec.time_field or ""), quote(spec.name + INNER_SUFFIX)
    return (
        f"CREATE TEMPORARY VIEW {quote(spec.name)} AS SELECT * FROM {inner} "
        f"WHERE CURRENT_WATERMARK({ts}) IS NULL OR {ts} > CURRENT_WATERMARK({ts})"
    )


def late_insert(spec: StreamSpec, late_stream: str) -> str:
    """INSERT of the source's late records into the late stream, each with its reason."""
    ts, inner = quote(spec.time_field or ""), quote(spec.name + INNER_SUFFIX)
    pairs = ", ".join(f"KEY '{c}' VALUE {quote(c)}" for c in spec.columns)
    return (
        f"INSERT INTO {quote(late_stream)} SELECT CURRENT_TIMESTAMP, 'LATE_RECORD', "
        f"CONCAT('event time ', CAST({ts} AS STRING), ' is at or behind the watermark ', "
        f"CAST(CURRENT_WATERMARK({ts}) AS STRING), ' of stream {spec.name}'), "
        f"'{spec.name}', {ts}, CURRENT_WATERMARK({ts}), "
        f"JSON_OBJECT({pairs} NULL ON NULL) "
        f"FROM {inner} WHERE {ts} <= CURRENT_WATERMARK({ts})"
    )
