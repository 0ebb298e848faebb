"""Run a job on rows in memory (or small files) and get its output rows back: no broker needed.

The harness is the runner with rows in place of Kafka. The job is loaded and planned by the
same loader as ``tidebox job run`` (:mod:`tidebox.flink.loader`): the same DDL around it, the
same late-record routing, and all its INSERTs (or a Python job's outputs) in one statement
set on the Flink mini-cluster. Only the tables differ: each source stream is a bounded table
over a JSON Lines file of the given rows, declared with the stream's columns and watermark;
each sink, the late stream included, is a folder of JSON Lines files read back after the run.

Event time works as on Kafka. A source whose spec has ``watermark_emit: on-event`` keeps the
rows in the order given and moves its watermark after every row, so which rows are late
depends only on that order (as in ``tests/tidebox/flink/test_late.py`` on Kafka). Rows of a
source with periodic watermarks are put in time order first, so that none is late: a
bounded file is read faster than one watermark period, and lateness would be left to chance.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from tidebox.core.errors import JobError
from tidebox.core.settings import Settings, StreamSpec, TableSpec, load_settings
from tidebox.flink.environment import make_table_env
from tidebox.flink.filetables import Rows, file_table_ddl, write_rows
from tidebox.flink.kda.job import KdaBinding
from tidebox.flink.loader import (
    Job,
    add_job,
    flink_errors,
    job_script,
    load_job,
    load_sql,
    prepare,
    resolve_job,
)

Record = dict[str, Any]


class JobOutput(dict[str, list[Record]]):
    """The rows a job wrote, by sink stream; ``late`` holds the rows routed to its late
    stream ``late_stream`` (None when the job routes none)."""

    def __init__(self, rows: Mapping[str, list[Record]], late_stream: str | None) -> None:
        super().__init__(rows)
        self.late_stream = late_stream
        self.late: list[Record] = []


@dataclass(frozen=True)
class RowTables:
    """Sources over files of the given rows, sinks into folders under ``scratch``."""

    inputs: Mapping[str, Rows]
    scratch: Path

    def source(self, spec: StreamSpec, table: str, arrival: str | None = None) -> str:
        """The rows as a file; an ``arrival`` column (a KDA application's ROWTIME) is one
        of their fields, the time the test says each row arrived."""
        rows = self.inputs.get(spec.name, [])
        in_order = spec.watermark_emit == "on-event"
        folder = self.scratch / "sources"
        path = write_rows(
            spec.name, rows, folder, spec.time_field, sort=not in_order, columns=spec.columns
        )
        return file_table_ddl(table, spec.columns, path, spec.time_field, spec.watermark_seconds)

    def sink(self, spec: StreamSpec) -> str:
        path = self.sink_folder(spec.name) / "part"  # the table is the folder of ``path``
        return file_table_ddl(spec.name, spec.columns, path)

    def reference(self, table: TableSpec) -> str:
        rows = self.inputs.get(table.name, table.location)
        return file_table_ddl(
            table.name,
            table.columns,
            write_rows(table.name, rows, self.scratch / "references", columns=table.columns),
        )

    def create_sink(self, spec: StreamSpec) -> None:
        """Nothing to create: Flink makes the folder."""

    def check_sources(self, job: str, names: list[str]) -> None:
        missing = [name for name in names if name not in self.inputs]
        if missing:
            raise JobError(job, f"no rows given for source stream(s): {', '.join(missing)}")

    def sink_folder(self, stream: str) -> Path:
        return self.scratch / "sinks" / stream

    def read_sink(self, spec: StreamSpec) -> list[Record]:
        """The rows the job wrote to a sink, in the order written, typed as its columns."""
        rows = []
        files = self.sink_folder(spec.name).glob("[!._]*")  # not in-progress or hidden files
        for path in sorted(files, key=_part_order):
            for line in path.read_text().splitlines():
                if line.strip():
                    value = json.loads(line)
                    rows.append({c: _typed(value.get(c), t) for c, t in spec.columns.items()})
        return rows


def run_job_on_rows(
    job: str | Path,
    inputs: Mapping[str, Rows],
    settings: Settings | None = None,
    params: Mapping[str, str] | None = None,
    kda: KdaBinding | None = None,
) -> JobOutput:
    """Run a job over in-memory rows; return the output rows per sink stream, and the late
    stream's rows as ``.late``.

    ``job`` is a job file (SQL or Python), the name of a job in tidebox.yaml or the
    project's jobs/ (whose ``late_stream`` and ``params`` apply, as with ``job run``), or SQL
    text. ``inputs`` maps each source stream the job reads to its rows: dicts, a DataFrame,
    or a CSV/JSON Lines/Parquet file; and may give a reference table's rows in place of its
    file. Times may be ISO-8601 text or timestamps. ``params`` go to a Python job's
    ``build(env, params)``, over the declared job's. ``settings`` default to the project's
    (:func:`load_settings`). A KDA SQL application is bound to its input by ``kda``; its
    input rows give each record's arrival time (its ROWTIME) as a ``ROWTIME`` field.

    The job runs with parallelism 1, whatever the settings say: one subtask per operator
    writes its rows in a fixed order, so a test sees the same rows in the same order on
    every run.
    """
    settings = settings or load_settings()
    loaded, declared = _load(settings, job, kda)
    job_params = {**declared, **(params or {})}
    with tempfile.TemporaryDirectory(prefix="tidebox-harness-") as scratch:
        tables = RowTables(inputs, Path(scratch))
        prepare(loaded, tables)
        env, _ = make_table_env(settings, loaded.name, 1)
        if any(s.watermark_emit == "on-event" for s in loaded.plan.sources):
            # a watermark after every row: Flink's watermark assigner emits one whenever the
            # watermark moves by more than this interval
            env.get_config().set("pipeline.auto-watermark-interval", "0 ms")
        with flink_errors(loaded.origin):
            statement_set = env.create_statement_set()
            script = job_script(loaded, tables)
            sinks = add_job(env, statement_set, loaded, script, tables, settings, job_params)
            statement_set.execute().wait()
        output = JobOutput({s.name: tables.read_sink(s) for s in sinks}, loaded.late_stream)
        if loaded.late_spec is not None:
            output.late = tables.read_sink(loaded.late_spec)
    return output


_NAME = re.compile(r"^[\w-]+$")


def _load(
    settings: Settings, job: str | Path, kda: KdaBinding | None = None
) -> tuple[Job, dict[str, str]]:
    """A job file (``.sql`` or ``.py``), a declared job's name, or SQL text; with the declared
    job's params (none for a file or text)."""
    text = str(job)
    is_name = _NAME.match(text) is not None and settings.job(text) is not None
    if isinstance(job, Path) or Path(text).suffix in (".sql", ".py") or is_name:
        path, spec = resolve_job(settings, job)
        if spec is None:
            return load_job(settings, path, kda=kda), {}
        return load_job(settings, path, spec.name, spec.late_stream, kda), dict(spec.params)
    return load_sql(settings, text, "job", kda=kda), {}


def _part_order(path: Path) -> tuple[str, int]:
    """Part files in the order written: ``part-<id>-<subtask>-<n>`` by n."""
    head, _, count = path.name.rpartition("-")
    return (head, int(count)) if count.isdigit() else (path.name, 0)


def _typed(value: Any, flink_type: str) -> Any:
    """A JSON value as the Python value of its Flink type (as ``Table.collect()`` gives it):
    TIMESTAMP a naive datetime, TIMESTAMP_LTZ one in UTC, DATE, TIME and DECIMAL their
    types; numbers, text, booleans and nulls as JSON has them."""
    if not isinstance(value, str):
        return value
    kind = flink_type.upper()
    if kind.startswith("TIMESTAMP"):  # an LTZ value ends in Z: a datetime in UTC
        return datetime.fromisoformat(value)
    if kind == "DATE":
        return date.fromisoformat(value)
    if kind.startswith("TIME"):
        return time.fromisoformat(value)
    if kind.startswith("DECIMAL"):
        return Decimal(value)
    return value
