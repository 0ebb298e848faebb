"""Helpers for tests of running jobs and sinks: the ``tidebox`` command in the background and
a job's own copy of the demo's streams."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support import TIDEBOX, cli_env, unique, write_config
from tests.support import wait_for as wait_for  # where it was first; tests import it from there
from tidebox.core.settings import Settings
from tidebox.templates import DEMO_JOB


def start(args: list[str], settings: Settings, cwd: Path) -> subprocess.Popen[str]:
    """``tidebox ARGS`` in the background, against ``settings``, output captured."""
    return subprocess.Popen(
        [TIDEBOX, *args],
        cwd=cwd,
        env=cli_env(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def start_job(settings: Settings, job: Path, cwd: Path) -> subprocess.Popen[str]:
    """``tidebox job run JOB --continuous`` checkpointing every second, in the background."""
    return start(
        ["job", "run", str(job), "--continuous", "--checkpoint-interval", "1"], settings, cwd
    )


def running(settings: Settings, name: str, process: subprocess.Popen[str] | None = None) -> bool:
    """True once job ``name`` is registered and its Flink job RUNNING; fails the test if
    ``process`` (the one running it) ended."""
    from tidebox.flink.registry import registered_jobs
    from tidebox.runtime.flink_rest import job_state

    if process is not None and process.poll() is not None:
        raise AssertionError(f"the job ended early: {process.communicate()}")
    return any(
        j.name == name and job_state(j.rest_url, j.job_id) == "RUNNING"
        for j in registered_jobs(settings)
    )


def isolated(
    settings: Settings, tmp_path: Path, name: str = "ckjob", **changes: object
) -> tuple[Settings, Path, str, str]:
    """The demo's job as ``tmp_path/NAME.sql`` over streams of its own (declared in
    ``tmp_path/tidebox.yaml`` too, for the CLI): settings (with any other field changed), job
    file, source and sink."""
    source, sink = unique("ck_readings"), unique("ck_stats")
    specs = []
    for spec in settings.streams:
        if spec.name in ("sensor_readings", "device_stats_1m"):
            renamed = source if spec.name == "sensor_readings" else sink
            specs.append(spec.model_copy(update={"name": renamed}))
    own = settings.model_copy(update={"streams": (*settings.streams, *specs), **changes})
    write_config(tmp_path, streams=specs)
    job = tmp_path / f"{name}.sql"
    job.write_text(
        DEMO_JOB.read_text().replace("sensor_readings", source).replace("device_stats_1m", sink)
    )
    return own, job, source, sink
