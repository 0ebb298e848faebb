"""Checkpoints and savepoints: a job killed with SIGKILL, stopped with a savepoint and restarted
writes every window exactly once, equal to an uninterrupted run's output."""

from __future__ import annotations

import json
import math
import signal
import threading
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from tests.support import cli_env, read_stream, run_cli, unique, wait_for
from tests.support.jobs import isolated, running, start_job
from tidebox.core.settings import Settings
from tidebox.flink.runner import run_job
from tidebox.flink.snapshots import latest_snapshot
from tidebox.streams.admin import count_records, create_stream
from tidebox.streams.generate import GenerateSpec, write_dataset
from tidebox.streams.replay import ReplayOptions, replay

pytestmark = [pytest.mark.integration, pytest.mark.flink, pytest.mark.slow]


def committed_rows(settings: Settings, stream: str) -> list[tuple[object, ...]]:
    return sorted(tuple(sorted(json.loads(r.value).items())) for r in read_stream(settings, stream))


def checkpoints_after_now(settings: Settings, job: str, count: int = 2) -> Callable[[], bool]:
    """A condition that holds once ``count`` checkpoints of the job newer than now have
    completed: every record it had written before is committed by then."""
    seen = {latest_snapshot(settings, job)}

    def condition() -> bool:
        seen.add(latest_snapshot(settings, job))
        return len(seen) > count

    return condition


def test_killed_and_savepointed_job_writes_each_window_exactly_once(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    settings, job, source, sink = isolated(kafka_settings, tmp_path)
    data = write_dataset(
        GenerateSpec(devices=8, hours=1.5, interval_seconds=10, seed=5), tmp_path / "in.csv"
    )
    frame = pd.read_csv(data.path)
    flush = frame.groupby("device_id").tail(1).copy()  # pushes the watermark past every window
    flush["event_time"] = (pd.to_datetime(flush["event_time"]) + pd.Timedelta(hours=1)).dt.strftime(
        "%Y-%m-%dT%H:%M:%S.000Z"
    )
    flush.to_csv(tmp_path / "flush.csv", index=False)
    # three parts: the first arrives while the first job runs, the second after it was
    # killed (while the restarted one runs), the third after the savepoint: each stop lands
    # mid-stream however fast or slow this machine is
    times = pd.to_datetime(frame["event_time"])
    start = times.min()
    cuts = [start + pd.Timedelta(minutes=m) for m in (40, 70)]
    parts = [
        frame[times < cuts[0]],
        frame[(times >= cuts[0]) & (times < cuts[1])],
        frame[times >= cuts[1]],
    ]
    for n, part in enumerate(parts):
        part.to_csv(tmp_path / f"part{n}.csv", index=False)
    create_stream(settings, source)

    # 1. start, feed slowly, kill -9 once a checkpoint and some committed output exist
    first = start_job(settings, job, tmp_path)
    wait_for(lambda: running(settings, "ckjob", first), 90, "the job to run")
    feeder = threading.Thread(
        target=replay, args=(settings, [tmp_path / "part0.csv"], source, ReplayOptions(rate=500))
    )
    feeder.start()
    wait_for(
        lambda: (
            latest_snapshot(settings, "ckjob") is not None and count_records(settings, sink) > 0
        ),
        60,
        "a checkpoint with committed output",
    )
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    feeder.join()

    # 2. restart: it resumes from the latest checkpoint; then stop it with a savepoint
    second = start_job(settings, job, tmp_path)
    wait_for(lambda: running(settings, "ckjob", second), 90, "the restarted job to run")
    replay(settings, [tmp_path / "part1.csv"], source)
    listed = run_cli(["job", "list"], tmp_path, cli_env(settings))
    assert "ckjob" in listed.stdout and "RUNNING" in listed.stdout, listed
    stopped = run_cli(["job", "stop", "ckjob", "--savepoint"], tmp_path, cli_env(settings))
    assert stopped.returncode == 0 and "savepoint at" in stopped.stdout, stopped
    out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    assert "resumed from" in err and "chk-" in err
    assert "job ckjob was stopped after" in out

    # 3. the rest of the data and the flush records, then restart from the savepoint
    replay(settings, [tmp_path / "part2.csv"], source)
    replay(settings, [tmp_path / "flush.csv"], source)
    third = start_job(settings, job, tmp_path)
    try:
        reference = unique("ck_ref")
        run_job(
            settings.model_copy(
                update={
                    "streams": (
                        *settings.streams,
                        settings.stream(sink).model_copy(update={"name": reference}),
                    )
                }  # type: ignore[union-attr]
            ),
            _renamed(job, sink, reference, tmp_path),
            bounded=True,
        )
        expected = [r for r in committed_rows(settings, reference) if _before_flush(r, frame)]
        wait_for(lambda: count_records(settings, sink) >= len(expected), 120, "every window")
        # a window written twice would show up in the next checkpoints' commits
        wait_for(checkpoints_after_now(settings, "ckjob"), 60, "two more checkpoints")
    finally:
        third.send_signal(signal.SIGINT)
        _, err = third.communicate(timeout=60)
    assert "resumed from" in err and "savepoints" in err, err
    assert_same_windows(committed_rows(settings, sink), expected)
    assert (
        len(expected)
        == frame.groupby(["device_id", pd.to_datetime(frame["event_time"]).dt.floor("min")]).ngroups
    )


def assert_same_windows(got: list[tuple[object, ...]], want: list[tuple[object, ...]]) -> None:
    """Each window once, with the same counts, minima and maxima; averages equal to the last
    bits of a double. Flink pre-aggregates in bundles that checkpoints cut, so a sum can add
    the same values in another order (it does so in uninterrupted runs too)."""
    by_window = {(dict(r)["device_id"], dict(r)["window_start"]): dict(r) for r in want}
    keys = [(dict(r)["device_id"], dict(r)["window_start"]) for r in got]
    assert len(keys) == len(set(keys)), "a window was written twice"
    assert set(keys) == set(by_window), "windows are missing or extra"
    for row in got:
        expected = by_window[(dict(row)["device_id"], dict(row)["window_start"])]
        for column, value in row:
            if isinstance(value, float):
                assert math.isclose(value, expected[column], rel_tol=1e-12), (row, column)
            else:
                assert value == expected[column], (row, column)


def _renamed(job: Path, sink: str, reference: str, folder: Path) -> Path:
    path = folder / "reference_run.sql"
    path.write_text(job.read_text().replace(sink, reference))
    return path


def _before_flush(row: tuple[object, ...], frame: pd.DataFrame) -> bool:
    values = dict(row)
    last = pd.to_datetime(frame["event_time"]).max().tz_localize(None)
    return pd.Timestamp(str(values["window_start"])) <= last
