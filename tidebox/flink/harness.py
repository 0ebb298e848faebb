"""Run a job on rows in memory (or small files) and get its output rows back: no broker needed.

Each source stream of the job becomes a bounded table over a JSON Lines file written from the
given rows, declared with the stream's own columns and watermark; each ``INSERT INTO sink
SELECT ...`` of the job runs as its ``SELECT`` on the same Flink mini-cluster, and the rows it
produces are returned per sink. The query text is the job file's own, so a job tested here
is the job that runs against Kafka.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tidebox.core.errors import JobError
from tidebox.core.settings import Settings
from tidebox.flink.ddl import INSERT_PARTS, JobPlan, plan_job, split_statements
from tidebox.flink.environment import JOB_OPTIONS, make_table_env
from tidebox.flink.filetables import Rows, file_table_ddl, reference_tables, write_rows
from tidebox.flink.pyjob import build_function, call_build, python_sources
from tidebox.flink.runner import flink_message


def run_job_on_rows(
    job: str | Path,
    inputs: Mapping[str, Rows],
    settings: Settings | None = None,
    params: Mapping[str, str] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Run a job file (SQL or Python, or SQL text) over in-memory rows; return the output
    rows per sink.

    ``inputs`` maps each source stream the job reads to its rows: dicts, a DataFrame, or a
    CSV/JSON Lines/Parquet file. Times may be ISO-8601 text or timestamps. ``params`` go to a
    Python job's ``build(env, params)``.
    """
    settings = settings or Settings()
    python = Path(str(job)).suffix == ".py"
    text = Path(job).read_text() if Path(str(job)).suffix in (".sql", ".py") else str(job)
    if python:
        plan = JobPlan((), python_sources(text, settings), ())
        build = build_function(Path(job))
    else:
        plan = plan_job(text, settings)
    sources = [s for s in plan.sources if s.name in inputs or not python]
    missing = [s.name for s in sources if s.name not in inputs]
    if missing:
        raise JobError(str(job), f"no rows given for source stream(s): {', '.join(missing)}")
    with tempfile.TemporaryDirectory(prefix="tidebox-harness-") as scratch:
        env, _ = make_table_env(settings, "harness", 1)
        for key, value in JOB_OPTIONS.items():
            env.get_config().set(key, value)
        outputs: dict[str, list[dict[str, Any]]] = {}
        try:
            for spec in sources:
                path = write_rows(spec.name, inputs[spec.name], Path(scratch), spec.time_field)
                env.execute_sql(
                    file_table_ddl(
                        spec.name, spec.columns, path, spec.time_field, spec.watermark_seconds
                    )
                )
            for table in reference_tables(text, settings):
                rows = inputs.get(table.name, table.location)
                path = write_rows(table.name, rows, Path(scratch))
                env.execute_sql(file_table_ddl(table.name, table.columns, path))
            if python:
                for sink, table in call_build(build, env, Path(job), params).items():
                    outputs[sink] = _collect(table, list(table.get_schema().get_field_names()))
                return outputs
            for statement in split_statements(text):
                insert = INSERT_PARTS.match(statement)
                if insert is None:
                    env.execute_sql(statement)
                    continue
                table = env.sql_query(insert.group(3))
                names = list(table.get_schema().get_field_names())
                if insert.group(2):  # INSERT INTO sink (a, b, ...) names the columns
                    names = [n.strip().strip("`") for n in insert.group(2).split(",")]
                outputs.setdefault(insert.group(1), []).extend(_collect(table, names))
        except JobError:
            raise
        except Exception as exc:  # PyFlink wraps Java errors in many exception types
            raise JobError(str(job) if len(str(job)) < 200 else "job", flink_message(exc)) from exc
    return outputs


def _collect(table: Any, names: list[str]) -> list[dict[str, Any]]:
    with table.execute().collect() as rows:
        return [dict(zip(names, row, strict=True)) for row in rows]
