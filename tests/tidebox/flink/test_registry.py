"""The registry of running jobs that 'job list' and 'job stop' read."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tidebox.core.errors import JobError
from tidebox.core.settings import Settings
from tidebox.flink.registry import (
    RunningJob,
    find_job,
    register_job,
    registered_jobs,
    unregister_job,
)


def entry(name: str, pid: int, job_id: str = "a" * 32) -> RunningJob:
    return RunningJob(name, job_id, "http://127.0.0.1:1", pid, "f.sql", "local", 0.0)


def test_entries_of_live_processes_are_listed_and_dead_ones_dropped(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path)
    dead = subprocess.Popen(["true"])
    dead.wait()
    register_job(settings, entry("alive", os.getpid()))
    register_job(settings, entry("dead", dead.pid))
    assert [j.name for j in registered_jobs(settings)] == ["alive"]
    assert not (tmp_path / "jobs" / "dead.json").exists()
    assert find_job(settings, "alive").pid == os.getpid()
    with pytest.raises(JobError, match="no running job"):
        find_job(settings, "dead")


def test_a_run_removes_only_its_own_entry(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path)
    register_job(settings, entry("j", os.getpid(), job_id="new"))
    unregister_job(settings, "j", "old")  # an earlier run of the same name ending late
    assert [j.job_id for j in registered_jobs(settings)] == ["new"]
    unregister_job(settings, "j", "new")
    assert registered_jobs(settings) == []
