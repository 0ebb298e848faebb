"""Where a job's checkpoints and savepoints live, and which one a restart resumes from.

Each job name has its own folders under the state folder: ``checkpoints/<job>/<job-id>/chk-N``
(written by Flink every checkpoint interval and kept when the job is cancelled or killed) and
``savepoints/<job>/savepoint-...`` (written by ``tidebox job stop --savepoint``). A snapshot is
complete once its ``_metadata`` file exists; the newest complete one is where a restarted job
resumes, as Managed Service for Apache Flink restores an application from its latest snapshot.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tidebox.core.errors import JobError
from tidebox.core.settings import Settings

# a file beside a job's snapshots: the digest of the job SQL that wrote them
FINGERPRINT = "tidebox.sha256"


def checkpoint_dir(settings: Settings, job: str) -> Path:
    return settings.state_dir.resolve() / "checkpoints" / job


def savepoint_dir(settings: Settings, job: str) -> Path:
    return settings.state_dir.resolve() / "savepoints" / job


def list_snapshots(settings: Settings, job: str) -> list[Path]:
    """Every complete checkpoint and savepoint of the job, oldest first."""
    found = [
        *checkpoint_dir(settings, job).glob("*/chk-*/_metadata"),
        *savepoint_dir(settings, job).glob("*/_metadata"),
    ]
    found.sort(key=lambda p: p.stat().st_mtime_ns)
    return [p.parent for p in found]


def latest_snapshot(settings: Settings, job: str) -> Path | None:
    """The newest complete checkpoint or savepoint of the job, if it has one."""
    snapshots = list_snapshots(settings, job)
    return snapshots[-1] if snapshots else None


def clear_snapshots(settings: Settings, job: str) -> None:
    """Forget every checkpoint and savepoint of the job: its next run starts from scratch."""
    for folder in (checkpoint_dir(settings, job), savepoint_dir(settings, job)):
        shutil.rmtree(folder, ignore_errors=True)


def is_snapshot(path: Path) -> bool:
    return (path / "_metadata").is_file()


def record_fingerprint(folder: Path, digest: str) -> None:
    """Mark the snapshots in ``folder`` (a run's checkpoints, or one savepoint) as written by
    the job SQL of that digest."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / FINGERPRINT).write_text(digest)


def snapshot_fingerprint(snapshot: Path) -> str | None:
    """The digest of the job SQL that wrote a snapshot, if tidebox recorded it."""
    for folder in (snapshot, snapshot.parent):
        if (folder / FINGERPRINT).is_file():
            return (folder / FINGERPRINT).read_text().strip()
    return None


def restore_point(settings: Settings, name: str, restore: str | Path, digest: str) -> Path | None:
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
