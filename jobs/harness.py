"""Run a job on rows in memory (or small files) and get its output rows back: no broker needed.

Each source stream of the job becomes a bounded table over a JSON Lines file written from the
given rows, declared with the stream's own columns and watermark; each ``INSERT INTO sink
SELECT ...`` of the job runs as its ``SELECT`` on the same Flink mini-cluster, and the rows it
produces are returned per sink. The query text is the job file's own, so a job tested here
is the job that runs against Kafka.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeAlias

import pandas as pd

from jobs.ddl import INSERT_PARTS, plan_job, split_statements
from jobs.runner import JOB_OPTIONS, flink_message, make_table_env
from producers.files import parse_times, read_records
from producers.replay import encode_records
from tidebox.config import Settings, StreamSpec
from tidebox.errors import JobError

Rows: TypeAlias = Iterable[Mapping[str, Any]] | pd.DataFrame | str | Path


def _frame(rows: Rows) -> pd.DataFrame:
    if isinstance(rows, pd.DataFrame):
        return rows.copy()
    if isinstance(rows, str | Path):
        return read_records(rows)
    return pd.DataFrame.from_records(list(rows))


def _write_source(spec: StreamSpec, rows: Rows, folder: Path) -> Path:
    """The rows as JSON Lines in the form replay sends them (times in ISO-8601 UTC)."""
    frame = _frame(rows)
    if spec.time_field and spec.time_field in frame.columns:
        frame[spec.time_field] = parse_times(frame, spec.time_field, folder / spec.name)
        frame = frame.sort_values(spec.time_field, kind="stable")
    path = folder / spec.name / "rows.jsonl"
    path.parent.mkdir(parents=True)
    field = spec.time_field if spec.time_field in frame.columns else None
    if field is None:
        frame["__t"] = pd.Timestamp(0, tz="UTC")
    with path.open("wb") as out:
        for _, value, _ in encode_records(frame, field or "__t", None):
            out.write(value + b"\n")
    return path


def _source_ddl(spec: StreamSpec, path: Path) -> str:
    columns = [f"  `{c}` {t}" for c, t in spec.columns.items()]
    if spec.time_field and spec.columns.get(spec.time_field, "").upper() in (
        "TIMESTAMP(3)",
        "TIMESTAMP_LTZ(3)",
    ):
        lag = f"{spec.watermark_seconds:.3f}"
        columns.append(
            f"  WATERMARK FOR `{spec.time_field}` AS `{spec.time_field}` - INTERVAL '{lag}' SECOND"
        )
    body = ",\n".join(columns)
    return (
        f"CREATE TABLE `{spec.name}` (\n{body}\n) WITH ('connector' = 'filesystem', "
        f"'path' = '{path.parent.as_uri()}', 'format' = 'json', "
        "'json.timestamp-format.standard' = 'ISO-8601', 'json.fail-on-missing-field' = 'false')"
    )


def run_job_on_rows(
    job: str | Path,
    inputs: Mapping[str, Rows],
    settings: Settings | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Run a job file (or SQL text) over in-memory rows; return the output rows per sink.

    ``inputs`` maps each source stream the job reads to its rows: dicts, a DataFrame, or a
    CSV/JSON Lines/Parquet file. Times may be ISO-8601 text or timestamps.
    """
    settings = settings or Settings()
    text = Path(job).read_text() if Path(str(job)).suffix == ".sql" else str(job)
    plan = plan_job(text, settings)
    missing = [s.name for s in plan.sources if s.name not in inputs]
    if missing:
        raise JobError(str(job), f"no rows given for source stream(s): {', '.join(missing)}")
    with tempfile.TemporaryDirectory(prefix="tidebox-harness-") as scratch:
        env = make_table_env(settings, "harness", 1)
        for key, value in JOB_OPTIONS.items():
            env.get_config().set(key, value)
        outputs: dict[str, list[dict[str, Any]]] = {}
        try:
            for spec in plan.sources:
                path = _write_source(spec, inputs[spec.name], Path(scratch))
                env.execute_sql(_source_ddl(spec, path))
            for statement in split_statements(text):
                insert = INSERT_PARTS.match(statement)
                if insert is None:
                    env.execute_sql(statement)
                    continue
                result = env.execute_sql(insert.group(3))
                names = result.get_table_schema().get_field_names()
                if insert.group(2):  # INSERT INTO sink (a, b, ...) names the columns
                    names = [n.strip().strip("`") for n in insert.group(2).split(",")]
                with result.collect() as rows:
                    found = [dict(zip(names, row, strict=True)) for row in rows]
                outputs.setdefault(insert.group(1), []).extend(found)
        except JobError:
            raise
        except Exception as exc:  # PyFlink wraps Java errors in many exception types
            raise JobError(str(job) if len(str(job)) < 200 else "job", flink_message(exc)) from exc
    return outputs
