"""Which jobs are running, so that another ``tidebox`` process can list and stop them.

A running job is a small JSON file under ``<state>/jobs/``: its name, Flink job id, the REST
URL that controls it (the local mini-cluster's loopback port, or the cluster's URL) and the pid
of the ``tidebox job run`` process. The file is written once Flink accepted the job and removed
when the run ends; an entry whose process died (killed with SIGKILL, say) is dropped when read.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from tidebox.core.errors import JobError
from tidebox.core.settings import Settings
from tidebox.flink.snapshots import record_fingerprint, savepoint_dir
from tidebox.runtime import flink_rest as rest


@dataclass(frozen=True)
class RunningJob:
    """One job started by ``tidebox job run`` and not yet ended."""

    name: str
    job_id: str
    rest_url: str
    pid: int
    file: str
    target: str  # "local" (mini-cluster) or "cluster"
    started: float  # Unix time
    fingerprint: str = ""  # of the job's SQL: a savepoint taken of it resumes only that SQL


@dataclass(frozen=True)
class JobStatus:
    job: RunningJob
    state: str  # Flink's job state, e.g. RUNNING


def _folder(settings: Settings) -> Path:
    return settings.state_dir / "jobs"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def register_job(settings: Settings, job: RunningJob) -> None:
    folder = _folder(settings)
    folder.mkdir(parents=True, exist_ok=True)
    temp = folder / f".{job.name}.json.tmp"
    temp.write_text(json.dumps(asdict(job)))
    temp.replace(folder / f"{job.name}.json")


def unregister_job(settings: Settings, name: str, job_id: str) -> None:
    """Remove the entry, unless another run of the same name has replaced it meanwhile."""
    path = _folder(settings) / f"{name}.json"
    try:
        if json.loads(path.read_text())["job_id"] == job_id:
            path.unlink()
    except (OSError, ValueError, KeyError):
        pass


def registered_jobs(settings: Settings) -> list[RunningJob]:
    """The entries whose ``tidebox job run`` process is still alive; stale ones are removed."""
    found = []
    for path in sorted(_folder(settings).glob("*.json")):
        try:
            job = RunningJob(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            path.unlink(missing_ok=True)
            continue
        if job.target == "local" and not _alive(job.pid):
            path.unlink(missing_ok=True)
            continue
        found.append(job)
    return found


def find_job(settings: Settings, name: str) -> RunningJob:
    for job in registered_jobs(settings):
        if job.name == name:
            return job
    raise JobError(name, "no running job of that name ('tidebox job list' shows them)")


def check_not_running(settings: Settings, name: str) -> None:
    """Two runs of one job would share its checkpoints and Kafka transaction ids: refuse."""
    for job in registered_jobs(settings):
        if job.name == name and rest.job_state(job.rest_url, job.job_id) == "RUNNING":
            raise JobError(name, f"is already running (pid {job.pid}); stop it first")


def job_statuses(settings: Settings) -> list[JobStatus]:
    """Every registered job with its state as Flink reports it now."""
    statuses = []
    for job in registered_jobs(settings):
        state = rest.job_state(job.rest_url, job.job_id) or "UNREACHABLE"
        statuses.append(JobStatus(job, state))
    return statuses


def stop_job(settings: Settings, name: str, savepoint: bool = False) -> str | None:
    """Cancel a running job, or stop it after a savepoint and return the savepoint's path.

    The ``tidebox job run`` process that started it sees the job end and exits.
    """
    job = find_job(settings, name)
    if not savepoint:
        rest.cancel_job(job.rest_url, job.job_id)
        return None
    target = savepoint_dir(settings, name)
    target.mkdir(parents=True, exist_ok=True)
    location = rest.stop_with_savepoint(job.rest_url, job.job_id, target.as_uri())
    folder = Path(location.removeprefix("file:"))
    if folder.is_dir() and job.fingerprint:
        record_fingerprint(folder, job.fingerprint)
    return str(folder)
