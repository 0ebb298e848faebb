"""A Kinesis Data Analytics SQL application as the Flink SQL statements tidebox runs.

In-application streams become Flink objects by how they are used:

- ``SOURCE_SQL_STREAM_001`` is the input stream's table (named so in the job);
- a stream that some pump reads is intermediate: a temporary view of the pumps that feed it
  (``UNION ALL`` when several do), with the columns it declares;
- a stream no pump reads is an output: each pump feeding it is an ``INSERT INTO`` the tidebox
  stream it maps to (``DESTINATION_SQL_STREAM`` to ``destination_sql_stream`` unless told).

All INSERTs run as one statement set, as the application's pumps run together in KDA.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tidebox.flink.kda.application import SOURCE_STREAM, Application, InAppStream, Pump
from tidebox.flink.kda.query import Scope, translate_query
from tidebox.flink.kda.tokens import identifier
from tidebox.flink.kda.types import UnknownType, flink_type


@dataclass(frozen=True)
class Translation:
    """The Flink statements of an application, and the tidebox stream of each output."""

    statements: tuple[str, ...]
    outputs: dict[str, str]  # in-application stream -> tidebox stream

    @property
    def text(self) -> str:
        return ";\n\n".join(self.statements) + ";\n"


def output_stream_name(in_app: str) -> str:
    """The tidebox stream an output in-application stream writes by default."""
    return in_app.lower()


def translate_application(
    app: Application,
    input_columns: Mapping[str, str],
    outputs: Mapping[str, str] | None = None,
) -> Translation:
    """Flink SQL for ``app`` whose source has ``input_columns`` (name to type); ``outputs``
    maps output in-application streams to tidebox streams (others keep their own names,
    in lower case)."""
    scope = Scope(_names(app, input_columns), _columns(app, input_columns))
    read = {name for pump in app.pumps for name in _read_streams(pump)}
    statements: list[str] = []
    mapping: dict[str, str] = {}
    for stream in app.streams.values():
        feeding = [p for p in app.pumps if p.target == stream.name]
        intermediate = stream.name in read
        views: list[str] = []  # what the queries read first (a stagger window's rows)
        queries = [
            translate_query(
                p.query, scope, app.error, intermediate, _types(app, p, stream), views=views
            )
            for p in feeding
        ]
        statements += views
        if intermediate:
            columns = ", ".join([*(f"`{c.name}`" for c in stream.columns), "`ROWTIME`"])
            body = "\nUNION ALL\n".join(f"({q})" if len(queries) > 1 else q for q in queries)
            statements.append(f"CREATE TEMPORARY VIEW `{stream.name}` ({columns}) AS\n{body}")
        elif feeding:
            target = (outputs or {}).get(stream.name, output_stream_name(stream.name))
            mapping[stream.name] = target
            for pump, query in zip(feeding, queries, strict=True):
                listed = pump.columns or tuple(c.name for c in stream.columns)
                columns = ", ".join(f"`{c}`" for c in listed)
                statements.append(f"INSERT INTO `{target}` ({columns})\n{query}")
    return Translation(tuple(statements), mapping)


def _types(app: Application, pump: Pump, stream: InAppStream) -> tuple[str, ...]:
    """The Flink types of the columns ``pump`` inserts, which KDA casts its values to."""
    declared = {c.name: c for c in stream.columns}
    types = []
    for name in pump.columns or tuple(declared):
        column = declared.get(name)
        if column is None:
            raise app.error(pump.at, f'"{stream.name}" has no column "{name}"')
        try:
            types.append(flink_type(column.kda_type))
        except UnknownType as unknown:
            raise app.error(column.at or stream.at, str(unknown)) from None
    return tuple(types)


def _names(app: Application, input_columns: Mapping[str, str]) -> dict[str, str]:
    """Known names, upper case to their spelling: streams, then columns (input's last, so
    that its spelling wins)."""
    names = {SOURCE_STREAM: SOURCE_STREAM}
    for stream in app.streams.values():
        names[stream.name.upper()] = stream.name
        names.update({c.name.upper(): c.name for c in stream.columns})
    names.update({c.upper(): c for c in input_columns})
    return names


def _columns(app: Application, input_columns: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    """The columns ``SELECT *`` gives of each stream: the input's own (not ROWTIME nor
    APPROXIMATE_ARRIVAL_TIME), and each in-application stream's declared ones."""
    hidden = {"ROWTIME", "APPROXIMATE_ARRIVAL_TIME"}
    columns = {SOURCE_STREAM: tuple(c for c in input_columns if c.upper() not in hidden)}
    for stream in app.streams.values():
        columns[stream.name] = tuple(c.name for c in stream.columns)
    return columns


def _read_streams(pump: Pump) -> set[str]:
    """The streams a pump's query names after FROM or JOIN (or anywhere as a word: a stream
    named in a subquery counts too)."""
    return {identifier(t) for t in pump.query if t.kind in ("word", "quoted")}
