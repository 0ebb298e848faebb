"""Which snapshot a restarted job resumes from."""

from __future__ import annotations

import os
from pathlib import Path

from tidebox.core.settings import Settings
from tidebox.flink.snapshots import (
    checkpoint_dir,
    clear_snapshots,
    latest_snapshot,
    list_snapshots,
    savepoint_dir,
    snapshot_fingerprint,
)


def make_snapshot(folder: Path, mtime: int, complete: bool = True) -> Path:
    folder.mkdir(parents=True)
    if complete:
        (folder / "_metadata").write_bytes(b"x")
        os.utime(folder / "_metadata", (mtime, mtime))
    return folder


def test_the_newest_complete_checkpoint_or_savepoint_wins(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path)
    assert latest_snapshot(settings, "j") is None
    old = make_snapshot(checkpoint_dir(settings, "j") / "id1" / "chk-3", 100)
    saved = make_snapshot(savepoint_dir(settings, "j") / "savepoint-abc", 200)
    make_snapshot(checkpoint_dir(settings, "j") / "id2" / "chk-9", 300, complete=False)
    make_snapshot(checkpoint_dir(settings, "other") / "id3" / "chk-1", 400)
    assert list_snapshots(settings, "j") == [old, saved]
    assert latest_snapshot(settings, "j") == saved
    clear_snapshots(settings, "j")
    assert latest_snapshot(settings, "j") is None
    assert latest_snapshot(settings, "other") is not None


def test_a_snapshot_knows_the_job_sql_that_wrote_it(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path)
    checkpoint = make_snapshot(checkpoint_dir(settings, "j") / "id1" / "chk-3", 100)
    assert snapshot_fingerprint(checkpoint) is None
    (checkpoint.parent / "tidebox.sha256").write_text("abc\n")
    assert snapshot_fingerprint(checkpoint) == "abc"


def test_a_folder_without_metadata_is_refused_before_flink_starts(tmp_path: Path) -> None:
    import pytest

    from tidebox.core.errors import JobError
    from tidebox.flink.snapshots import restore_point

    settings = Settings(state_dir=tmp_path)
    with pytest.raises(JobError, match="no _metadata"):
        restore_point(settings, "j", tmp_path / "not-a-savepoint", "digest")
    saved = make_snapshot(savepoint_dir(settings, "j") / "savepoint-1", 100)
    assert restore_point(settings, "j", saved, "digest") == saved.resolve()
    assert restore_point(settings, "j", "latest", "digest") is None  # no matching SQL digest
    (saved / "tidebox.sha256").write_text("digest")
    assert restore_point(settings, "j", "latest", "digest") == saved
    assert restore_point(settings, "j", "none", "digest") is None
    assert latest_snapshot(settings, "j") is None  # --fresh forgot it
