"""A KDA SQL application as a tidebox job: which file is one, what it reads and writes.

A job file is a KDA application when ``--dialect kinesis-analytics`` says so, when its name
ends in ``.kda.sql``, or when it holds a ``CREATE [OR REPLACE] PUMP`` (Flink SQL has no pumps);
``--dialect flink`` forces Flink SQL.

``SOURCE_SQL_STREAM_001`` reads the tidebox stream given as ``--input``: a view over that
stream's table that adds ``APPROXIMATE_ARRIVAL_TIME``. Both it and ``ROWTIME`` are the time
each record reached the stream, the Kafka record's timestamp (KDA's ROWTIME is the time a
record entered the application, which for a replayed or produced stream is its arrival).
ROWTIME is the job's event time, with a watermark 1 ms behind it, so windows on ROWTIME close
as records arrive; a record whose timestamp is behind the watermark goes to the late stream.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tidebox.core.errors import ConfigError, StreamNotFoundError
from tidebox.core.settings import Settings, StreamSpec
from tidebox.flink.ddl import JobPlan, plan_job
from tidebox.flink.kda.application import SOURCE_STREAM, parse_application
from tidebox.flink.kda.translate import Translation, translate_application

DIALECTS = ("flink", "kinesis-analytics")
ARRIVAL = "ROWTIME"
"""The source column that holds each record's arrival time (its Kafka timestamp)."""
ARRIVAL_TYPE = "TIMESTAMP_LTZ(3)"
_PUMP = re.compile(r"\bCREATE\s+(?:OR\s+REPLACE\s+)?PUMP\b", re.IGNORECASE)


@dataclass(frozen=True)
class KdaBinding:
    """How a KDA application meets tidebox's streams: the stream ``SOURCE_SQL_STREAM_001``
    reads, and the tidebox stream of each output in-application stream (by default its own
    name in lower case). ``dialect`` None: told by the file."""

    input: str | None = None
    outputs: Mapping[str, str] = field(default_factory=dict)
    dialect: str | None = None


def is_kda_application(path: Path | None, text: str, dialect: str | None) -> bool:
    """Whether a job is a KDA SQL application (see the module's rules)."""
    if dialect is not None:
        if dialect not in DIALECTS:
            raise ConfigError(f"dialect is {' or '.join(DIALECTS)}, not {dialect!r}")
        return dialect == "kinesis-analytics"
    if path is not None and path.name.endswith(".kda.sql"):
        return True
    return _PUMP.search(text) is not None


def source_spec(settings: Settings, binding: KdaBinding, origin: str) -> StreamSpec:
    """The input stream as the job reads it: its columns plus ROWTIME, its event time."""
    if not binding.input:
        raise ConfigError(
            f"{origin} is a Kinesis Data Analytics application: name the stream "
            f"{SOURCE_STREAM} reads with --input STREAM"
        )
    spec = settings.stream(binding.input)
    if spec is None or not spec.columns:
        raise StreamNotFoundError(binding.input)
    columns = {k: v for k, v in spec.columns.items() if k.upper() != ARRIVAL}
    return spec.model_copy(
        update={
            "columns": {**columns, ARRIVAL: ARRIVAL_TYPE},
            "time_field": ARRIVAL,
            "watermark_seconds": 0.001,
        }
    )


def translate_file(
    settings: Settings, text: str, origin: str, binding: KdaBinding
) -> tuple[Translation, StreamSpec]:
    """The application's Flink statements (the source view first) and its source's spec."""
    spec = source_spec(settings, binding, origin)
    app = parse_application(text, origin)
    columns = {**spec.columns, "APPROXIMATE_ARRIVAL_TIME": "TIMESTAMP(3)"}
    translation = translate_application(app, columns, binding.outputs)
    for unknown in sorted(set(binding.outputs) - set(translation.outputs)):
        raise ConfigError(f"--output {unknown}=...: {origin} has no output stream {unknown}")
    others = ", ".join(f"`{c}`" for c in spec.columns if c != ARRIVAL)
    view = (
        f"CREATE TEMPORARY VIEW `{SOURCE_STREAM}` AS\n"
        f"SELECT {others}{', ' if others else ''}`{ARRIVAL}`,"
        f" CAST(`{ARRIVAL}` AS TIMESTAMP(3)) AS `APPROXIMATE_ARRIVAL_TIME`\n"
        f"FROM `{spec.name}`"
    )
    return Translation((view, *translation.statements), translation.outputs), spec


def kda_plan(settings: Settings, text: str, origin: str, binding: KdaBinding) -> JobPlan:
    """The job plan of an application: its Flink statements, the input as its one source,
    and its outputs as sinks (declared streams, or streams made from the query's columns)."""
    translation, spec = translate_file(settings, text, origin, binding)
    planned = plan_job(translation.text, settings)
    sinks = tuple(s for s in planned.sinks if s.name != spec.name)
    return JobPlan(planned.statements, (spec,), sinks, planned.undeclared_sinks)
