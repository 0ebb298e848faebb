"""Turn a job file into Flink SQL statements, and stream specs into the tables it reads and writes.

A job file holds only its query (``INSERT INTO <stream> SELECT ... FROM <stream>``): every
declared stream the file names becomes a Kafka-backed table of the same name. Streams after
``INSERT INTO`` are sinks (keyed by the stream's key field); the others are sources, with a
watermark on the stream's time field. A ``CREATE TABLE`` for a name in the file wins over the
derived declaration.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from tidebox.core.settings import Settings, StreamSpec
from tidebox.flink.functions import PARTITIONER

_INSERT = re.compile(r"\bINSERT\s+(?:INTO|OVERWRITE)\s+`?([\w.-]+)`?", re.IGNORECASE)
# INSERT INTO sink [(columns)] query: the sink, its column list and the query
INSERT_PARTS = re.compile(
    r"^\s*INSERT\s+INTO\s+`?([\w.-]+)`?\s*(?:\(([^)]*)\))?\s*(.*)$", re.IGNORECASE | re.DOTALL
)
_CREATE = re.compile(
    r"\bCREATE\s+(?:TEMPORARY\s+)?(?:TABLE|VIEW)\s+(?:IF\s+NOT\s+EXISTS\s+)?`?([\w.-]+)`?",
    re.IGNORECASE,
)
_WATERMARK_TYPES = ("TIMESTAMP(3)", "TIMESTAMP_LTZ(3)")


@dataclass(frozen=True)
class JobPlan:
    """The statements of a job file and the streams it reads and writes."""

    statements: tuple[str, ...]
    sources: tuple[StreamSpec, ...]
    sinks: tuple[StreamSpec, ...]
    undeclared_sinks: tuple[str, ...] = ()  # written to, but neither declared nor created


def split_statements(text: str) -> list[str]:
    """Split SQL on semicolons that are outside quotes and comments; drop empty statements."""
    statements, current = [], []
    i, quote = 0, ""
    while i < len(text):
        char = text[i]
        if quote:
            current.append(char)
            if char == quote:
                quote = ""
        elif char in "'`\"":
            quote = char
            current.append(char)
        elif text.startswith("--", i):
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
            continue
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = len(text) if end < 0 else end + 2
            current.append(" ")  # a comment separates tokens
            continue
        elif char == ";":
            statements.append("".join(current).strip())
            current = []
        else:
            current.append(char)
        i += 1
    statements.append("".join(current).strip())
    return [s for s in statements if s]


def mentions(sql: str | list[str], name: str) -> bool:
    """True if the SQL names the table ``name`` as a whole word (``sensor`` is not in
    ``sensor_readings``)."""
    pattern = re.compile(rf"(?<![\w.-])`?{re.escape(name)}`?(?![\w-])")
    return any(pattern.search(s) for s in ([sql] if isinstance(sql, str) else sql))


def columns_ddl(
    columns: Mapping[str, str],
    time_field: str | None = None,
    watermark_seconds: float = 0.0,
    arrival: str | None = None,
) -> str:
    """The column lines of a CREATE TABLE, with a watermark on ``time_field`` when it is a
    millisecond timestamp (pass no time field for a table without event time). ``arrival``
    names a column read from the Kafka record's timestamp rather than from its JSON."""
    lines = [
        f"  {quote(c)} {t}" + (" METADATA FROM 'timestamp' VIRTUAL" if c == arrival else "")
        for c, t in columns.items()
    ]
    if time_field and columns.get(time_field, "").upper() in _WATERMARK_TYPES:
        lag = f"{watermark_seconds:.3f}"
        field = quote(time_field)
        lines.append(f"  WATERMARK FOR {field} AS {field} - INTERVAL '{lag}' SECOND")
    return ",\n".join(lines)


def plan_job(text: str, settings: Settings) -> JobPlan:
    """Which declared streams the job reads and writes, and the DDL-free statements to run."""
    statements = split_statements(text)
    sink_names = {m.group(1) for s in statements for m in _INSERT.finditer(s)}
    created = {m.group(1) for s in statements for m in _CREATE.finditer(s)}
    sources: list[StreamSpec] = []
    sinks: list[StreamSpec] = []
    for spec in settings.streams:
        if spec.name in created or not mentions(statements, spec.name):
            continue
        (sinks if spec.name in sink_names else sources).append(spec)
    declared = {spec.name for spec in settings.streams}
    undeclared = tuple(sorted(sink_names - declared - created))
    return JobPlan(tuple(statements), tuple(sources), tuple(sinks), undeclared)


def quote(name: str) -> str:
    """A Flink SQL identifier in backquotes, so that any name (a keyword too) can be used."""
    return f"`{name}`"


def _options(pairs: dict[str, str]) -> str:
    return ",\n  ".join(f"'{k}' = '{v}'" for k, v in pairs.items())


def table_ddl(
    spec: StreamSpec,
    settings: Settings,
    role: str,
    bounded: bool,
    job_name: str,
    delivery: str = "exactly-once",
    table_name: str | None = None,
    arrival: str | None = None,
) -> str:
    """CREATE TABLE for one stream as a job ``source`` or ``sink``.

    Sources read only committed records, so a job downstream of another never sees output
    that a failed checkpoint will roll back. Sinks write ``exactly-once`` in Kafka
    transactions committed at each checkpoint (or ``at-least-once``). A sink keyed by a STRING
    key field routes each record by its key as Kinesis does (tidebox's ``KinesisPartitioner``:
    the shard whose hash-key range holds the key's MD5, the rule of
    :mod:`tidebox.streams.shards`), not by Kafka's murmur2; a keyless sink leaves the choice
    to the Kafka producer. ``table_name`` declares the table under another name than its
    stream's; ``arrival`` names a source column that holds the record's Kafka timestamp.
    """
    if not spec.columns:
        raise ValueError(f"stream '{spec.name}' declares no columns")
    time_field = spec.time_field if role == "source" else None
    body = columns_ddl(spec.columns, time_field, spec.watermark_seconds, arrival)
    options = {
        "connector": "kafka",
        "topic": spec.name,
        "properties.bootstrap.servers": settings.flink_kafka_bootstrap,
        "format": "json",
        "json.timestamp-format.standard": "ISO-8601",
        "json.fail-on-missing-field": "false",
    }
    if role == "source":
        options["properties.group.id"] = f"tidebox-job-{job_name}"
        options["properties.isolation.level"] = "read_committed"
        options["scan.startup.mode"] = "earliest-offset"
        options["scan.watermark.idle-timeout"] = f"{round(spec.idle_timeout_seconds * 1000)} ms"
        options["scan.watermark.emit.strategy"] = spec.watermark_emit
        if bounded:
            options["scan.bounded.mode"] = "latest-offset"
    else:
        options["sink.delivery-guarantee"] = delivery
        if delivery == "exactly-once":
            options["sink.transactional-id-prefix"] = f"tidebox-{job_name}-{spec.name}"
            # the broker's default ceiling; Flink's own default (1 h) is above it
            options["properties.transaction.timeout.ms"] = "900000"
        if spec.key_field and spec.columns.get(spec.key_field, "").upper() == "STRING":
            options["key.format"] = "raw"
            options["key.fields"] = spec.key_field
            options["value.fields-include"] = "ALL"
            options["sink.partitioner"] = PARTITIONER
    name = quote(table_name or spec.name)
    return f"CREATE TABLE {name} (\n{body}\n) WITH (\n  {_options(options)}\n)"
