"""The per-device anomaly job (SQL with RANDOM_CUT_FOREST): its scores are the offline forest's,
bit for bit, and a job killed (SIGKILL) and restored, then stopped with a savepoint and restored
from it, changes none of them."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path

import pandas as pd
import pytest

from tests.support import (
    JOBS,
    cli_env,
    committed_count,
    read_stream,
    run_cli,
    unique,
    wait_for,
    write_config,
)
from tests.support.jobs import running, start_job
from tidebox.anomaly import RandomCutForest
from tidebox.anomaly.forest import ForestParams
from tidebox.anomaly.scoring import params_for, thresholder_for
from tidebox.core.settings import SENSOR_COLUMNS, SENSORS, Settings, StreamSpec
from tidebox.flink.harness import run_job_on_rows
from tidebox.flink.runner import run_job
from tidebox.flink.snapshots import latest_snapshot
from tidebox.streams.admin import create_stream
from tidebox.streams.generate import GenerateSpec, generate_frame
from tidebox.streams.replay import ReplayOptions, replay

pytestmark = [pytest.mark.flink]

JOB = JOBS / "device_anomaly_scores.sql"
# a small forest, a saved copy every 40 rows: the restore below replays saved copies and journals
SMALL = "grade => 'tuned', number_of_trees => 20, sub_sample_size => 32,"
SNAPSHOTS = "SET 'pipeline.global-job-parameters' = 'tidebox.rcf.snapshot-rows:40';\n"


def offline(frame: pd.DataFrame, device: str, params: ForestParams) -> tuple[list, list]:
    """Scores and grades of the device's forest run directly over its readings in time order."""
    rows = frame[frame.device_id == device].sort_values("event_time")
    forest = RandomCutForest(params)
    scores, _, _ = forest.score_and_update(rows[list(SENSORS)].to_numpy())
    grading = thresholder_for("tuned", params)
    return scores.tolist(), [grading.grade_and_update(float(s)) for s in scores]


def test_each_device_gets_its_own_forest_scoring_in_time_order() -> None:
    frame = generate_frame(GenerateSpec(devices=3, hours=1, interval_seconds=10, seed=5))
    holes = frame.copy()
    holes.loc[holes.index[7], "humidity"] = None

    rows = run_job_on_rows(JOB, {"sensor_readings": holes})["device_anomaly_scores"]

    assert len(rows) == len(frame)
    unscored = [r for r in rows if r["anomaly_score"] is None]
    assert len(unscored) == 1 and unscored[0]["humidity"] is None
    complete = holes.dropna(subset=list(SENSORS))
    for device in sorted(frame.device_id.unique()):
        got = sorted(
            (r for r in rows if r["device_id"] == device and r["anomaly_score"] is not None),
            key=lambda r: r["event_time"],
        )
        scores, grades = offline(complete, device, params_for("tuned", 4))  # the preset's forest
        assert [r["anomaly_score"] for r in got] == scores
        assert [r["anomaly_grade"] for r in got] == grades
        assert any(s > 0 for s in scores)


def committed(settings: Settings, stream: str) -> dict[tuple[str, str], tuple[float, float]]:
    """Scores by (device, event time), failing on any reading scored twice."""
    found: dict[tuple[str, str], tuple[float, float]] = {}
    for record in read_stream(settings, stream):
        row = json.loads(record.value)
        key = (row["device_id"], row["event_time"])
        assert key not in found, f"scored twice: {key}"
        found[key] = (row["anomaly_score"], row["anomaly_grade"])
    return found


@pytest.mark.integration
@pytest.mark.slow
def test_a_killed_then_savepointed_scoring_job_changes_no_score(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    source, output = unique("rcf_in"), unique("rcf_scores")
    spec = StreamSpec(
        name=source,
        shards=2,
        time_field="event_time",
        key_field="device_id",
        columns=SENSOR_COLUMNS,
    )
    settings = kafka_settings.model_copy(update={"streams": (*kafka_settings.streams, spec)})
    write_config(
        tmp_path,
        streams=[spec],
        jobs=[{"name": "rcfjob", "file": str(tmp_path / "rcfjob.sql")}],
    )
    text = SNAPSHOTS + JOB.read_text().replace("grade => 'tuned',", SMALL)
    text = text.replace("TABLE sensor_readings", f"TABLE {source}")
    job = tmp_path / "rcfjob.sql"
    job.write_text(text.replace("INTO device_anomaly_scores", f"INTO {output}"))
    frame = generate_frame(GenerateSpec(devices=4, hours=3, interval_seconds=10, seed=9))
    # three parts: the first arrives while the first job runs (killed with SIGKILL), the second
    # while the job restored from its checkpoint runs (stopped with a savepoint), the third
    # after that: each stop lands mid-stream however fast or slow this machine is
    start = frame.event_time.min()
    cuts = [start + pd.Timedelta(hours=h) for h in (1.5, 2.25)]
    parts = [
        frame[frame.event_time < cuts[0]],
        frame[(frame.event_time >= cuts[0]) & (frame.event_time < cuts[1])],
        frame[frame.event_time >= cuts[1]],
    ]
    for n, part in enumerate(parts):
        part.to_csv(tmp_path / f"part{n}.csv", index=False)
    flush = frame.groupby("device_id").tail(1).copy()  # moves the watermark past every reading
    flush["event_time"] = flush["event_time"] + pd.Timedelta(hours=1)
    flush.to_csv(tmp_path / "flush.csv", index=False)
    create_stream(settings, source)

    reference_out = unique("rcf_ref")
    reference = tmp_path / "reference.sql"
    reference.write_text(text.replace("INTO device_anomaly_scores", f"INTO {reference_out}"))

    # 1. start, feed slowly, kill -9 once a checkpoint and some committed scores exist
    first = start_job(settings, Path("rcfjob"), tmp_path)
    wait_for(lambda: running(settings, "rcfjob", first), 120, "the job to run")
    feeder = threading.Thread(
        target=replay, args=(settings, [tmp_path / "part0.csv"], source, ReplayOptions(rate=400))
    )
    feeder.start()
    wait_for(
        lambda: (
            latest_snapshot(settings, "rcfjob") is not None
            and committed_count(settings, output) > 0
        ),
        90,
        "a checkpoint with committed scores",
    )
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    feeder.join()

    # 2. restart from the checkpoint, feed the second part, stop with a savepoint (rows the
    # watermark has not passed yet stay in it, unscored)
    second = start_job(settings, Path("rcfjob"), tmp_path)
    wait_for(lambda: running(settings, "rcfjob", second), 120, "the restarted job to run")
    replay(settings, [tmp_path / "part1.csv"], source)
    stopped = run_cli(["job", "stop", "rcfjob", "--savepoint"], tmp_path, cli_env(settings))
    assert stopped.returncode == 0 and "savepoint at" in stopped.stdout, stopped
    _, err = second.communicate(timeout=60)
    assert "resumed from" in err and "chk-" in err, err

    # 3. the rest, then restart from the savepoint
    replay(settings, [tmp_path / "part2.csv"], source)
    replay(settings, [tmp_path / "flush.csv"], source)
    third = start_job(settings, Path("rcfjob"), tmp_path)
    try:
        run_job(settings, reference, bounded=True)
        # the uninterrupted run also scored the flush readings, which the continuous one holds
        # until a later watermark; they come last in every device's order and change no other
        # score
        cut = (frame.event_time.max() + pd.Timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S")
        want = {k: v for k, v in committed(settings, reference_out).items() if k[1] < cut}
        assert len(want) == len(frame)
        wait_for(
            lambda: committed_count(settings, output) >= len(want), 180, "every reading scored"
        )
    finally:
        third.send_signal(signal.SIGINT)
        _, err = third.communicate(timeout=60)
    assert "resumed from" in err and "savepoints" in err, err
    got = committed(settings, output)
    assert set(got) == set(want)
    assert got == want  # every score and grade, bit for bit
    assert any(score > 0 for score, _ in got.values())
    assert run_cli(["job", "list"], tmp_path, cli_env(settings)).returncode == 0
