"""Run a Flink SQL job file on a local Flink mini-cluster or a Flink cluster, reading and
writing tidebox streams, with checkpoints, restarts from them, and late records routed aside.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tidebox.core.errors import JobError, TideboxError
from tidebox.core.settings import JobSpec, Settings
from tidebox.core.signals import StopRequest
from tidebox.flink.environment import checkpoint_options, make_table_env
from tidebox.flink.kafka_tables import KafkaTables
from tidebox.flink.loader import (
    Job,
    add_job,
    check_writes,
    flink_message,
    job_script,
    load_job,
)
from tidebox.flink.pyjob import is_python_job
from tidebox.flink.registry import RunningJob, check_not_running, register_job, unregister_job
from tidebox.flink.snapshots import (
    checkpoint_dir,
    clear_snapshots,
    is_snapshot,
    latest_snapshot,
    record_fingerprint,
    snapshot_fingerprint,
)
from tidebox.streams.admin import count_records, ensure_stream, shard_offsets


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


def resolve_job(settings: Settings, job: str | Path) -> tuple[Path, JobSpec | None]:
    """A job file path, or the name of a job declared in tidebox.yaml (a file path wins)."""
    path = Path(job)
    spec = settings.job(str(job))
    if spec is not None and not path.is_file():
        return Path(spec.file), spec
    return path, None


def _sink_offsets(settings: Settings, sinks: list[str]) -> dict[str, dict[int, int]]:
    return {s: {p: hi for p, (_, hi) in shard_offsets(settings, s).items()} for s in sinks}


def _prepare_streams(settings: Settings, job: Job, tables: KafkaTables) -> None:
    """Check a SQL job's sources exist and that it writes somewhere (a Python job's sources
    are checked once build() said which are outputs); create the sinks and the late stream."""
    if job.build is None:
        tables.check_sources(job.origin, [spec.name for spec in job.plan.sources])
        check_writes(job)
    for spec in job.plan.sinks:
        ensure_stream(settings, spec.name)
    if job.late_spec is not None:
        tables.create_sink(job.late_spec)


def render_job_sql(settings: Settings, job_file: str | Path, bounded: bool = False) -> str:
    """The whole job as one SQL script (SET, CREATE TABLE, then the file's statements).

    It is exactly what the runner executes, and it runs as it is in Flink's SQL client,
    for example on the docker-compose cluster.
    """
    path = Path(job_file)
    if is_python_job(path):
        raise JobError(str(path), "a Python job is no SQL script: run it with 'tidebox job run'")
    job = load_job(settings, path)
    script = job_script(job, KafkaTables(settings, job.name, bounded))
    return ";\n\n".join(script) + ";\n"


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
    job = load_job(settings, path, opts.name, opts.late_stream)
    name, late = job.name, job.late_stream
    tables = KafkaTables(settings, name, opts.bounded, opts.delivery)
    _prepare_streams(settings, job, tables)
    check_not_running(settings, name)
    script = job_script(job, tables)
    extra = [job.text, json.dumps(opts.params or {}, sort_keys=True)] if job.build else []
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
        specs = add_job(env, statement_set, job, script, tables, settings, opts.params)
        sinks = [spec.name for spec in specs]
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
        sources=tuple(s.name for s in job.plan.sources if s.name not in sinks),
        records_out={s: count_records(settings, s, before[s]) for s in sinks},
        restored_from=str(restore) if restore else None,
        late_stream=late,
        late_records=count_records(settings, late, before[late]) if late else 0,
        job_id=job_id,
    )


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
