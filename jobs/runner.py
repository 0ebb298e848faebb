"""Run a Flink SQL job file on a local Flink mini-cluster, reading and writing tidebox streams.

PyFlink starts one JVM per Python process; every job run in the process reuses it, which is
why tests run jobs in-process and share that start-up cost.
"""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jobs.ddl import INSERT_PARTS, JobPlan, plan_job, table_ddl
from jobs.filetables import file_table_ddl, reference_tables, write_rows
from jobs.loopback import bind_loopback_server_to_localhost
from tidebox.config import JobSpec, Settings, StreamSpec
from tidebox.errors import JobError, StreamNotFoundError
from tidebox.runtime.maven import flink_connector_jars
from tidebox.signals import StopRequest
from tidebox.streams import ensure_stream, list_streams, shard_offsets


@dataclass(frozen=True)
class JobResult:
    """What one run did: how long it took and how many records it wrote to each sink stream."""

    job: str
    bounded: bool
    stopped: bool
    seconds: float
    sources: tuple[str, ...]
    records_out: dict[str, int]


def job_name_of(path: Path) -> str:
    return re.sub(r"[^\w-]", "_", path.stem)


def resolve_job(settings: Settings, job: str | Path) -> tuple[Path, JobSpec | None]:
    """A job file path, or the name of a job declared in tidebox.yaml (a file path wins)."""
    path = Path(job)
    spec = settings.job(str(job))
    if spec is not None and not path.is_file():
        return Path(spec.file), spec
    return path, None


# Every server the local mini-cluster opens (RPC, blob server, REST) listens on loopback only.
LOCALHOST_OPTIONS = (
    "jobmanager.bind-host",
    "taskmanager.bind-host",
    "taskmanager.host",
    "rest.bind-address",
    "rest.address",
)
_SET = re.compile(r"^\s*SET\s+'([^']+)'\s*=\s*'([^']*)'\s*$", re.IGNORECASE)
# Session settings every job runs with, locally or (through ``render_job_sql``) on a cluster.
JOB_OPTIONS = {
    "table.local-time-zone": "UTC",
    # A partition that receives nothing must not hold back the watermark of the others.
    "table.exec.source.idle-timeout": "5 s",
}


def make_table_env(settings: Settings, job_name: str, parallelism: int) -> Any:
    from pyflink.table import EnvironmentSettings, TableEnvironment

    bind_loopback_server_to_localhost()
    jars = ";".join(p.resolve().as_uri() for p in flink_connector_jars(settings.state_dir))
    env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    config = env.get_config()
    config.set("pipeline.jars", jars)
    config.set("pipeline.name", job_name)
    config.set("parallelism.default", str(parallelism))
    for option in LOCALHOST_OPTIONS:
        config.set(option, "127.0.0.1")
    return env


def flink_message(exc: BaseException) -> str:
    """The useful first line of a Flink/Java exception, without the Java stack trace."""
    text = str(exc)
    for marker in ("SqlParserException:", "ValidationException:", "TableException:"):
        if marker in text:
            text = text.split(marker, 1)[1]
            break
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    lines = [ln for ln in lines if not ln.startswith(("at ", "Caused by", "py4j", "org.apache"))]
    if not lines:
        return type(exc).__name__
    return re.sub(r"^(.+?\. )\1+", r"\1", lines[0])  # Flink repeats its own prefix


def _sink_offsets(settings: Settings, sinks: list[str]) -> dict[str, int]:
    return {s: sum(hi for _, hi in shard_offsets(settings, s).values()) for s in sinks}


def _prepare_streams(settings: Settings, plan: JobPlan, job: str) -> None:
    existing = set(list_streams(settings))
    for spec in plan.sources:
        if spec.name not in existing:
            raise StreamNotFoundError(spec.name)
    if not any(INSERT_PARTS.match(s) for s in plan.statements):
        raise JobError(job, "the job file has no INSERT INTO statement: nothing would be written")
    for spec in plan.sinks:
        ensure_stream(settings, spec.name)


def _read_job(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as exc:
        raise JobError(str(path), f"cannot read the job file: {exc.strerror or exc}") from exc


def _script(settings: Settings, plan: JobPlan, name: str, bounded: bool, text: str) -> list[str]:
    """SET, reference tables, source and sink tables, then the job's own statements."""
    statements = [f"SET '{k}' = '{v}'" for k, v in JOB_OPTIONS.items()]
    statements += _reference_ddl(settings, text, name)
    statements += [table_ddl(s, settings, "source", bounded, name) for s in plan.sources]
    statements += [table_ddl(s, settings, "sink", bounded, name) for s in plan.sinks]
    return statements + list(plan.statements)


def _reference_ddl(settings: Settings, text: str, job: str) -> list[str]:
    """Tables of reference data the job joins: each rewritten as JSON Lines under the state
    folder (``reference/<job>/<table>/``) and declared over that copy."""
    statements = []
    folder = settings.state_dir.resolve() / "reference" / job
    for table in reference_tables(text, settings):
        source = Path(table.location)
        if not source.is_file():
            raise JobError(job, f"reference table '{table.name}': no file at {source}")
        shutil.rmtree(folder / table.name, ignore_errors=True)
        path = write_rows(table.name, source, folder)
        statements.append(file_table_ddl(table.name, table.columns, path))
    return statements


def render_job_sql(settings: Settings, job_file: str | Path, bounded: bool = False) -> str:
    """The whole job as one SQL script (SET, CREATE TABLE, then the file's statements).

    It is exactly what the local runner executes, and it runs as it is in Flink's SQL client,
    for example on the docker-compose cluster.
    """
    path = Path(job_file)
    name = job_name_of(path)
    text = _read_job(path)
    plan = plan_job(text, settings)
    return ";\n\n".join(_script(settings, plan, name, bounded, text)) + ";\n"


def run_job(
    settings: Settings,
    job_file: str | Path,
    bounded: bool = True,
    parallelism: int | None = None,
    job_name: str | None = None,
) -> JobResult:
    """Run a job file to completion (bounded: up to the offsets present at start) or until stopped.

    SIGINT (Ctrl-C) or SIGTERM cancels the job and returns a result with ``stopped`` set.
    """
    path = Path(job_file)
    name = job_name or job_name_of(path)
    text = _read_job(path)
    plan = plan_job(text, settings)
    _prepare_streams(settings, plan, str(path))
    sinks = [s.name for s in plan.sinks]
    before = _sink_offsets(settings, sinks)

    env = make_table_env(settings, name, parallelism or settings.flink_parallelism)
    started = time.monotonic()
    try:
        statement_set = env.create_statement_set()
        for statement in _script(settings, plan, name, bounded, text):
            setting = _SET.match(statement)
            insert = INSERT_PARTS.match(statement)
            if setting:  # executeSql() takes no SET: it is the SQL client's session command
                env.get_config().set(setting.group(1), setting.group(2))
            elif insert:
                if insert.group(1) in plan.undeclared_sinks and insert.group(1) not in before:
                    env.execute_sql(_derived_sink(env, settings, insert, name))
                    before.update(_sink_offsets(settings, [insert.group(1)]))
                    sinks.append(insert.group(1))
                statement_set.add_insert_sql(statement)
            else:
                env.execute_sql(statement)
        stopped = _wait(statement_set.execute())
    except JobError:
        raise
    except Exception as exc:  # PyFlink wraps Java errors in many exception types
        raise JobError(str(path), flink_message(exc)) from exc
    after = _sink_offsets(settings, sinks)
    return JobResult(
        job=name,
        bounded=bounded,
        stopped=stopped,
        seconds=time.monotonic() - started,
        sources=tuple(s.name for s in plan.sources),
        records_out={s: after[s] - before[s] for s in sinks},
    )


def _derived_sink(env: Any, settings: Settings, insert: re.Match[str], job: str) -> str:
    """DDL for a sink stream no spec declares: its columns are the query's own.

    The stream is created (one shard) if missing and keyed by ``device_id`` when the query
    has that column, as the declared streams are.
    """
    resolved = env.sql_query(insert.group(3))._j_table.getResolvedSchema()
    columns = {}
    for column in resolved.getColumns():
        data_type = str(column.getDataType())
        for marker in (" *ROWTIME*", " *PROCTIME*", " NOT NULL"):
            data_type = data_type.replace(marker, "")
        columns[str(column.getName())] = data_type
    if insert.group(2):  # INSERT INTO sink (a, b, ...) names the columns
        names = [n.strip().strip("`") for n in insert.group(2).split(",")]
        columns = dict(zip(names, columns.values(), strict=True))
    sink = insert.group(1)
    key = "device_id" if columns.get("device_id") == "STRING" else None
    spec = StreamSpec(name=sink, key_field=key, columns=columns)
    ensure_stream(settings.model_copy(update={"streams": (*settings.streams, spec)}), sink)
    return table_ddl(spec, settings, "sink", False, job)


_TERMINAL = ("FINISHED", "FAILED", "CANCELED", "SUSPENDED", "GONE")


def _job_status(client: Any) -> str:
    """The job's status name; GONE once the per-job mini-cluster has shut down after it."""
    try:
        return str(client.get_job_status().result().name)
    except Exception:  # py4j raises its own error types for a cluster that has stopped
        return "GONE"


def _wait(result: Any) -> bool:
    """Block until the job ends, or cancel it on SIGINT/SIGTERM; True if it was stopped.

    The job's status is polled rather than waited on, so that a signal never lands inside a
    blocking call into the JVM.
    """
    client = result.get_job_client()
    if client is None:
        result.wait()
        return False
    with StopRequest().installed() as stop:
        while _job_status(client) not in _TERMINAL:
            if stop.requested:
                client.cancel().result()
                return True
            time.sleep(0.2)
    result.wait()  # raises the job's failure, if it failed
    return False
