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

from tidebox.core.errors import ConfigError, JobError
from tidebox.core.settings import JobSpec, Settings
from tidebox.core.signals import StopRequest
from tidebox.flink.environment import checkpoint_options, make_table_env
from tidebox.flink.functions import self_contained
from tidebox.flink.kafka_tables import KafkaTables
from tidebox.flink.kda.job import KdaBinding
from tidebox.flink.loader import (
    add_job,
    expand_cursor_calls,
    flink_errors,
    job_script,
    load_job,
    prepare,
    resolve_job,
)
from tidebox.flink.pyjob import is_python_job
from tidebox.flink.registry import RunningJob, check_not_running, register_job, unregister_job
from tidebox.flink.snapshots import checkpoint_dir, record_fingerprint, restore_point
from tidebox.streams.admin import count_records, shard_offsets

DELIVERY_MODES = ("exactly-once", "at-least-once")


@dataclass(frozen=True)
class RunOptions:
    """How to run a job; ``None`` fields fall back to the job's spec in tidebox.yaml, then
    the defaults (bounded, exactly-once) and the settings."""

    bounded: bool | None = None
    parallelism: int | None = None
    name: str | None = None
    checkpoint_seconds: float | None = None
    delivery: str | None = None
    # "latest": resume from the job's newest checkpoint or savepoint, if it has one and the
    # job's SQL is unchanged since; "none": start afresh; else a snapshot folder to resume from
    restore: str | Path = "latest"
    cluster: str | None = None
    late_stream: str | None = None  # None: <job>_late; "": let Flink drop late records
    params: dict[str, str] | None = None  # a Python job's build(env, params), over the spec's
    kda: KdaBinding | None = None  # a KDA SQL application's input, outputs and dialect


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


def _sink_offsets(settings: Settings, sinks: list[str]) -> dict[str, dict[int, int]]:
    return {s: {p: hi for p, (_, hi) in shard_offsets(settings, s).items()} for s in sinks}


def job_options(spec: JobSpec | None, options: RunOptions) -> RunOptions:
    """``options`` with each unset field filled from the job's spec in tidebox.yaml (if it
    has one), then the defaults; ``params`` are the spec's, updated by the options' own.
    Raises ConfigError for an unknown ``delivery``."""
    params = {**(spec.params if spec else {}), **(options.params or {})}
    given = options.kda or KdaBinding()
    kda = KdaBinding(
        given.input or (spec.input if spec else None),
        {**(spec.outputs if spec else {}), **given.outputs},
        given.dialect or (spec.dialect if spec else None),
    )
    filled = replace(
        options,
        bounded=_first(options.bounded, spec.bounded if spec else None, True),
        parallelism=options.parallelism or (spec.parallelism if spec else None),
        name=options.name or (spec.name if spec else None),
        checkpoint_seconds=options.checkpoint_seconds
        or (spec.checkpoint_seconds if spec else None),
        delivery=options.delivery or (spec.delivery if spec else None) or "exactly-once",
        late_stream=_first(options.late_stream, spec.late_stream if spec else None),
        params=params or None,
        kda=kda,
    )
    if filled.delivery not in DELIVERY_MODES:
        modes = " or ".join(DELIVERY_MODES)
        raise ConfigError(f"delivery is {modes}, not {filled.delivery!r}")
    return filled


def _first(*values: Any) -> Any:
    """The first value that is not None (None if all are)."""
    return next((v for v in values if v is not None), None)


def render_job_sql(
    settings: Settings, job: str | Path, bounded: bool = False, kda: KdaBinding | None = None
) -> str:
    """The whole job (a file, or the name of a job in tidebox.yaml or jobs/) as one SQL
    script: SET, CREATE TABLE, then the file's statements.

    It is exactly what the runner executes, and it runs as it is in Flink's SQL client,
    for example on the docker-compose cluster. For a KDA SQL application (``kda`` binds it
    to tidebox's streams) it is the application translated into Flink SQL.
    """
    path, spec = resolve_job(settings, job)
    if is_python_job(path):
        raise JobError(str(path), "a Python job is no SQL script: run it with 'tidebox job run'")
    opts = job_options(spec, RunOptions(kda=kda))
    loaded = load_job(settings, path, opts.name, opts.late_stream, opts.kda)
    script = job_script(loaded, KafkaTables(settings, loaded.name, bounded))
    script = expand_cursor_calls(self_contained(script, settings), str(path), settings)
    return ";\n\n".join(script) + ";\n"


def _fingerprint(statements: list[str]) -> str:
    return hashlib.sha256("\n;\n".join(statements).encode()).hexdigest()


def run_job(
    settings: Settings,
    job: str | Path,
    options: RunOptions | None = None,
    **changes: Any,
) -> JobResult:
    """Run a job (SQL or Python) to completion (bounded: up to the offsets present at
    start) or until stopped; ``changes`` override fields of ``options``
    (``run_job(s, f, bounded=False)``).

    ``job`` is a job file, or the name of a job in tidebox.yaml or the project's jobs/
    (``run_job(settings, "device_stats_1m")``); the options it leaves unset come from that
    job's spec, as with ``tidebox job run NAME``.

    SIGINT (Ctrl-C) or SIGTERM cancels the job and returns a result with ``stopped`` set;
    its last checkpoint is kept, and the next run of the job resumes from it.
    """
    path, spec = resolve_job(settings, job)
    opts = job_options(spec, replace(options or RunOptions(), **changes))
    bounded = bool(opts.bounded)
    loaded = load_job(settings, path, opts.name, opts.late_stream, opts.kda)
    name, late = loaded.name, loaded.late_stream
    tables = KafkaTables(settings, name, bounded, opts.delivery or "exactly-once")
    prepare(loaded, tables)
    check_not_running(settings, name)
    script = job_script(loaded, tables)
    extra = [loaded.text, json.dumps(opts.params or {}, sort_keys=True)] if loaded.build else []
    digest = _fingerprint(script + extra)
    restore = restore_point(settings, name, opts.restore, digest)
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
        with flink_errors(str(path)):
            statement_set = env.create_statement_set()
            specs = add_job(env, statement_set, loaded, script, tables, settings, opts.params)
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
    finally:
        if job_id:
            unregister_job(settings, name, job_id)
    return JobResult(
        job=name,
        bounded=bounded,
        stopped=state != "FINISHED" or not bounded,
        seconds=time.monotonic() - started,
        sources=tuple(s.name for s in loaded.plan.sources if s.name not in sinks),
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
