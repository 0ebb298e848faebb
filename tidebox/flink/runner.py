"""Run a Flink SQL job file on a local Flink mini-cluster or a Flink cluster, reading and
writing tidebox streams, with checkpoints, restarts from them, and late records routed aside.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tidebox.core.errors import JobError, StreamNotFoundError, TideboxError
from tidebox.core.settings import JobSpec, Settings, StreamSpec
from tidebox.core.signals import StopRequest
from tidebox.flink.ddl import INSERT_PARTS, JobPlan, plan_job, table_ddl
from tidebox.flink.environment import JOB_OPTIONS, checkpoint_options, make_table_env
from tidebox.flink.filetables import file_table_ddl, reference_tables, write_rows
from tidebox.flink.late import (
    INNER_SUFFIX,
    LATE_SUFFIX,
    late_insert,
    late_stream_spec,
    on_time_view,
    routed_sources,
    uses_event_time,
)
from tidebox.flink.pyjob import (
    build_function,
    call_build,
    is_python_job,
    python_sources,
    python_uses_event_time,
)
from tidebox.flink.registry import RunningJob, check_not_running, register_job, unregister_job
from tidebox.flink.snapshots import (
    checkpoint_dir,
    clear_snapshots,
    is_snapshot,
    latest_snapshot,
    record_fingerprint,
    snapshot_fingerprint,
)
from tidebox.streams.admin import count_records, ensure_stream, list_streams, shard_offsets


@dataclass(frozen=True)
class RunOptions:
    """How to run a job; ``None`` fields fall back to the job's spec, then the settings."""

    bounded: bool = True
    parallelism: int | None = None
    name: str | None = None
    checkpoint_seconds: float | None = None
    delivery: str = "exactly-once"
    # "latest": resume from the job's newest checkpoint or savepoint, if it has one and the
    # job's SQL is unchanged since; "none": start afresh; else a snapshot folder to resume from
    restore: str | Path = "latest"
    cluster: str | None = None
    late_stream: str | None = None  # None: <job>_late; "": let Flink drop late records
    params: dict[str, str] | None = None  # a Python job's build(env, params)


@dataclass(frozen=True)
class JobResult:
    """What one run did: how long it took and how many records it wrote to each sink stream."""

    job: str
    bounded: bool
    stopped: bool
    seconds: float
    sources: tuple[str, ...]
    records_out: dict[str, int]
    restored_from: str | None = None
    late_stream: str | None = None  # where records behind the watermark went
    late_records: int = 0
    job_id: str | None = None


def job_name_of(path: Path) -> str:
    return re.sub(r"[^\w-]", "_", path.stem)


def resolve_job(settings: Settings, job: str | Path) -> tuple[Path, JobSpec | None]:
    """A job file path, or the name of a job declared in tidebox.yaml (a file path wins)."""
    path = Path(job)
    spec = settings.job(str(job))
    if spec is not None and not path.is_file():
        return Path(spec.file), spec
    return path, None


_SET = re.compile(r"^\s*SET\s+'([^']+)'\s*=\s*'([^']*)'\s*$", re.IGNORECASE)


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


def _sink_offsets(settings: Settings, sinks: list[str]) -> dict[str, dict[int, int]]:
    return {s: {p: hi for p, (_, hi) in shard_offsets(settings, s).items()} for s in sinks}


def _prepare_streams(
    settings: Settings, plan: JobPlan, job: str, late: str | None, sql: bool = True
) -> None:
    """Check the sources exist (a Python job's, once build() said which are outputs) and
    create the sinks."""
    existing = set(list_streams(settings))
    for spec in plan.sources:
        if sql and spec.name not in existing:
            raise StreamNotFoundError(spec.name)
    if sql and not any(INSERT_PARTS.match(s) for s in plan.statements):
        raise JobError(job, "the job file has no INSERT INTO statement: nothing would be written")
    for spec in plan.sinks:
        ensure_stream(settings, spec.name)
    if late and late not in existing:
        ensure_stream(_with_stream(settings, late_stream_spec(late)), late)


def _with_stream(settings: Settings, spec: StreamSpec) -> Settings:
    if settings.stream(spec.name):
        return settings
    return settings.model_copy(update={"streams": (*settings.streams, spec)})


def _read_job(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as exc:
        raise JobError(str(path), f"cannot read the job file: {exc.strerror or exc}") from exc


def _late_stream(plan: JobPlan, name: str, wanted: str | None, event_time: bool) -> str | None:
    """The stream late records go to, or None when the job has nothing to route."""
    if wanted == "" or not event_time or not routed_sources(plan.sources):
        return None
    return wanted or f"{name}{LATE_SUFFIX}"


def _script(
    settings: Settings,
    plan: JobPlan,
    name: str,
    text: str,
    options: RunOptions,
    late: str | None,
) -> list[str]:
    """SET, reference tables, source and sink tables, the job's own statements, then the
    routing of late records."""
    statements = [f"SET '{k}' = '{v}'" for k, v in JOB_OPTIONS.items()]
    statements += _reference_ddl(settings, text, name)
    routed = routed_sources(plan.sources) if late else []
    for spec in plan.sources:
        if spec in routed:
            inner = spec.name + INNER_SUFFIX
            statements.append(
                table_ddl(spec, settings, "source", options.bounded, name, table_name=inner)
            )
            statements.append(on_time_view(spec))
        else:
            statements.append(table_ddl(spec, settings, "source", options.bounded, name))
    sinks = list(plan.sinks) + ([late_stream_spec(late)] if late else [])
    statements += [
        table_ddl(s, settings, "sink", options.bounded, name, options.delivery) for s in sinks
    ]
    statements += list(plan.statements)
    return statements + [late_insert(spec, late) for spec in routed if late]


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

    It is exactly what the runner executes, and it runs as it is in Flink's SQL client,
    for example on the docker-compose cluster.
    """
    path = Path(job_file)
    if is_python_job(path):
        raise JobError(str(path), "a Python job is no SQL script: run it with 'tidebox job run'")
    name = job_name_of(path)
    text = _read_job(path)
    plan = plan_job(text, settings)
    options = RunOptions(bounded=bounded)
    late = _late_stream(plan, name, options.late_stream, uses_event_time(plan.statements))
    return ";\n\n".join(_script(settings, plan, name, text, options, late)) + ";\n"


def _fingerprint(statements: list[str]) -> str:
    return hashlib.sha256("\n;\n".join(statements).encode()).hexdigest()


def _restore_point(settings: Settings, name: str, restore: str | Path, digest: str) -> Path | None:
    """The snapshot a run resumes from: the newest one of the same job SQL, an explicit
    folder, or none."""
    if restore == "none":
        clear_snapshots(settings, name)
        return None
    if restore == "latest":
        snapshot = latest_snapshot(settings, name)
        if snapshot is None or snapshot_fingerprint(snapshot) != digest:
            return None  # the job changed: its old state may not fit; resume it explicitly
        return snapshot
    path = Path(restore)
    if not is_snapshot(path):
        raise JobError(str(path), "not a savepoint or checkpoint folder (no _metadata in it)")
    return path.resolve()


def run_job(
    settings: Settings,
    job_file: str | Path,
    options: RunOptions | None = None,
    **changes: Any,
) -> JobResult:
    """Run a job file (SQL or Python) to completion (bounded: up to the offsets present at
    start) or until stopped; ``changes`` override fields of ``options``
    (``run_job(s, f, bounded=False)``).

    SIGINT (Ctrl-C) or SIGTERM cancels the job and returns a result with ``stopped`` set;
    its last checkpoint is kept, and the next run of the job resumes from it.
    """
    opts = replace(options or RunOptions(), **changes)
    path = Path(job_file)
    name = opts.name or job_name_of(path)
    text = _read_job(path)
    build = build_function(path) if is_python_job(path) else None
    if build is None:
        plan = plan_job(text, settings)
        event_time = uses_event_time(plan.statements)
    else:
        plan = JobPlan((), python_sources(text, settings), ())
        event_time = python_uses_event_time(text)
    late = _late_stream(plan, name, opts.late_stream, event_time)
    _prepare_streams(settings, plan, str(path), late, sql=build is None)
    check_not_running(settings, name)
    settings = _with_stream(settings, late_stream_spec(late)) if late else settings
    script = _script(settings, plan, name, text, opts, late)
    extra = [text, json.dumps(opts.params or {}, sort_keys=True)] if build else []
    digest = _fingerprint(script + extra)
    restore = _restore_point(settings, name, opts.restore, digest)
    interval = opts.checkpoint_seconds or settings.checkpoint_seconds

    cluster = opts.cluster or settings.flink_cluster
    env, rest_url = make_table_env(
        settings, name, opts.parallelism or settings.flink_parallelism, cluster
    )
    for key, value in checkpoint_options(settings, name, interval, restore).items():
        env.get_config().set(key, value)
    started = time.monotonic()
    job_id = None
    try:
        statement_set = env.create_statement_set()
        sinks = _add_statements(env, statement_set, settings, plan, script, name, opts.delivery)
        if build is not None:
            outputs = call_build(build, env, path, opts.params)
            sinks += _add_outputs(env, statement_set, settings, plan, outputs, name, opts)
        before = _sink_offsets(settings, sinks + ([late] if late else []))
        result = statement_set.execute()
        client = result.get_job_client()
        job_id = str(client.get_job_id())
        record_fingerprint(checkpoint_dir(settings, name) / job_id, digest)
        register_job(
            settings,
            RunningJob(
                name=name,
                job_id=job_id,
                rest_url=rest_url,
                pid=os.getpid(),
                file=str(path),
                target="cluster" if cluster else "local",
                started=time.time(),
                fingerprint=digest,
            ),
        )
        state = _wait(result, client)
    except TideboxError:
        raise
    except Exception as exc:  # PyFlink wraps Java errors in many exception types
        raise JobError(str(path), flink_message(exc)) from exc
    finally:
        if job_id:
            unregister_job(settings, name, job_id)
    return JobResult(
        job=name,
        bounded=opts.bounded,
        stopped=state != "FINISHED" or not opts.bounded,
        seconds=time.monotonic() - started,
        sources=tuple(s.name for s in plan.sources if s.name not in sinks),
        records_out={s: count_records(settings, s, before[s]) for s in sinks},
        restored_from=str(restore) if restore else None,
        late_stream=late,
        late_records=count_records(settings, late, before[late]) if late else 0,
        job_id=job_id,
    )


def _add_statements(
    env: Any,
    statement_set: Any,
    settings: Settings,
    plan: JobPlan,
    script: list[str],
    job: str,
    delivery: str,
) -> list[str]:
    """Run the script's SET and DDL, add its INSERTs to the statement set; return the job's
    sink streams (the late stream, written by the script's last INSERTs, is not one)."""
    sinks = [s.name for s in plan.sinks]
    for statement in script:
        setting = _SET.match(statement)
        insert = INSERT_PARTS.match(statement)
        if setting:  # executeSql() takes no SET: it is the SQL client's session command
            env.get_config().set(setting.group(1), setting.group(2))
        elif insert:
            sink = insert.group(1)
            if sink in plan.undeclared_sinks and sink not in sinks:
                names = [n.strip().strip("`") for n in (insert.group(2) or "").split(",") if n]
                spec = _derived_spec(env.sql_query(insert.group(3)), sink, names)
                ensure_stream(_with_stream(settings, spec), sink)
                env.execute_sql(table_ddl(spec, settings, "sink", False, job, delivery))
                sinks.append(sink)
            statement_set.add_insert_sql(statement)
        else:
            env.execute_sql(statement)
    return sinks


def _add_outputs(
    env: Any,
    statement_set: Any,
    settings: Settings,
    plan: JobPlan,
    outputs: dict[str, Any],
    job: str,
    opts: RunOptions,
) -> list[str]:
    """Declare the stream of each table a Python job's build() returned, and write it there."""
    read = {s.name for s in plan.sources}
    for sink, table in outputs.items():
        if sink in read:  # the module named it, so it was declared as a source: redeclare it
            env.execute_sql(f"DROP TABLE IF EXISTS `{sink}`")
        spec = settings.stream(sink) or _derived_spec(table, sink, [])
        ensure_stream(_with_stream(settings, spec), sink)
        env.execute_sql(table_ddl(spec, settings, "sink", opts.bounded, job, opts.delivery))
        statement_set.add_insert(sink, table)
    existing = set(list_streams(settings))
    for name in read - set(outputs) - existing:
        raise StreamNotFoundError(name)
    return list(outputs)


def _derived_spec(table: Any, sink: str, names: list[str]) -> StreamSpec:
    """The spec of a sink stream no spec declares: the table's own columns (renamed to
    ``names`` if given), keyed by ``device_id`` when it has that column."""
    columns = {}
    for column in table._j_table.getResolvedSchema().getColumns():
        data_type = str(column.getDataType())
        for marker in (" *ROWTIME*", " *PROCTIME*", " NOT NULL"):
            data_type = data_type.replace(marker, "")
        columns[str(column.getName())] = data_type
    if names:  # INSERT INTO sink (a, b, ...) names the columns
        columns = dict(zip(names, columns.values(), strict=True))
    key = "device_id" if columns.get("device_id") == "STRING" else None
    return StreamSpec(name=sink, key_field=key, columns=columns)


_TERMINAL = ("FINISHED", "FAILED", "CANCELED", "SUSPENDED", "GONE")


def _job_status(client: Any) -> str:
    """The job's status name; GONE once the per-job mini-cluster has shut down after it."""
    try:
        return str(client.get_job_status().result().name)
    except Exception:  # py4j raises its own error types for a cluster that has stopped
        return "GONE"


def _wait(result: Any, client: Any) -> str:
    """Block until the job ends, or cancel it on SIGINT/SIGTERM; return its final state.

    The job's status is polled rather than waited on, so that a signal never lands inside a
    blocking call into the JVM.
    """
    with StopRequest().installed() as stop:
        while (state := _job_status(client)) not in _TERMINAL:
            if stop.requested:
                client.cancel().result()
                return "CANCELED"
            time.sleep(0.2)
    if state in ("FAILED", "GONE"):
        try:
            result.wait()  # raises the job's failure, if it failed
        except Exception as exc:
            if "JobCancellationException" not in str(exc):
                raise
            return "CANCELED"
        return "FINISHED"
    return state
