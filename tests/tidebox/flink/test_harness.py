"""Job tests without a broker: rows in, rows out, through the real Flink mini-cluster."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from tidebox.core.errors import JobError
from tidebox.core.settings import SENSOR_COLUMNS, JobSpec, Settings, StreamSpec
from tidebox.flink.harness import run_job_on_rows
from tidebox.streams.generate import GenerateSpec, generate_frame
from tidebox.templates import DEMO_JOB

pytestmark = [pytest.mark.flink]

JOB = DEMO_JOB


def test_the_shipped_job_on_rows_in_memory() -> None:
    frame = generate_frame(GenerateSpec(devices=2, hours=0.25, interval_seconds=10, seed=1))
    windows = run_job_on_rows(JOB, {"sensor_readings": frame})["device_stats_1m"]
    assert len(windows) == 2 * 15  # two devices, fifteen minutes
    first = next(
        w for w in windows if w["device_id"] == "dev-001" and w["window_start"].minute == 0
    )
    minute = frame[
        (frame.device_id == "dev-001") & (frame.event_time < pd.Timestamp("2026-01-01 00:01Z"))
    ]
    assert first["readings"] == len(minute) == 6
    assert first["temperature_max"] == minute.temperature.max()
    assert math.isclose(first["humidity_avg"], minute.humidity.mean())


def test_inline_sql_with_dict_rows() -> None:
    rows = [
        {"device_id": "d1", "event_time": "2026-01-01T00:00:05Z", "temperature": 20.0},
        {"device_id": "d1", "event_time": "2026-01-01T00:00:35Z", "temperature": 22.0},
        {"device_id": "d1", "event_time": "2026-01-01T00:01:10Z", "temperature": 30.0},
    ]
    sql = """INSERT INTO device_stats_1m (window_start, window_end, device_id, readings)
             SELECT window_start, window_end, device_id, COUNT(*) FROM TABLE(
               TUMBLE(TABLE sensor_readings, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))
             GROUP BY window_start, window_end, device_id"""
    out = run_job_on_rows(sql, {"sensor_readings": rows})["device_stats_1m"]
    assert [(w["window_start"].minute, w["readings"]) for w in out] == [(0, 2), (1, 1)]


def test_missing_rows_and_sql_errors_are_named() -> None:
    with pytest.raises(JobError, match="no rows given for source stream"):
        run_job_on_rows(JOB, {})
    with pytest.raises(JobError, match="nonsense"):
        run_job_on_rows(
            "INSERT INTO device_stats_1m SELECT nonsense FROM sensor_readings",
            {"sensor_readings": [{"device_id": "d", "event_time": "2026-01-01T00:00:00Z"}]},
        )


def test_late_rows_go_to_the_late_stream_as_on_kafka() -> None:
    """With watermarks after every row, which rows are late depends only on their order:
    the two far behind the newest reading go to the late stream, the one within the
    watermark's 5 s bound is counted in its window."""
    spec = StreamSpec(
        name="ordered_readings",
        time_field="event_time",
        key_field="device_id",
        watermark_emit="on-event",
        columns=SENSOR_COLUMNS,
    )
    settings = Settings(streams=(*Settings().streams, spec))
    rows = [
        {"device_id": "d1", "event_time": f"2026-01-01T00:0{m}:{s:02d}Z", "temperature": 20.0}
        for m in range(3)
        for s in range(0, 60, 10)
    ]
    rows[9:9] = [  # after 00:01:20 arrived: the watermark is at 00:01:15
        {"device_id": "d1", "event_time": "2026-01-01T00:00:05Z", "temperature": 1000.0},
        {"device_id": "d1", "event_time": "2026-01-01T00:01:14Z", "temperature": 1001.0},
        {"device_id": "d1", "event_time": "2026-01-01T00:01:17Z", "temperature": 1002.0},
    ]
    job = DEMO_JOB.read_text().replace("sensor_readings", "ordered_readings")

    out = run_job_on_rows(job, {"ordered_readings": rows}, settings)

    assert out.late_stream == "job_late"
    assert sorted(json.loads(r["data_row"])["temperature"] for r in out.late) == [1000.0, 1001.0]
    assert {r["error_name"] for r in out.late} == {"LATE_RECORD"}
    assert {r["source"] for r in out.late} == {"ordered_readings"}
    assert all("behind the watermark" in r["message"] for r in out.late)
    windows = {w["window_start"].minute: w for w in out["device_stats_1m"]}
    assert [windows[m]["readings"] for m in range(3)] == [6, 7, 6]
    assert windows[1]["temperature_max"] == 1002.0


def test_a_declared_job_runs_by_name_with_its_late_stream() -> None:
    """A name resolves as in ``tidebox job run NAME``: to the job's file, with the
    ``late_stream`` (and ``params``) its spec declares."""
    settings = Settings()
    spec = JobSpec(name="stats", file=str(DEMO_JOB), late_stream="stats_late_rows")
    settings = settings.model_copy(update={"jobs": (*settings.jobs, spec)})
    rows = [{"device_id": "d1", "event_time": "2026-01-01T00:00:05Z", "temperature": 20.0}]

    by_name = run_job_on_rows("device_stats_1m", {"sensor_readings": rows}, settings)
    assert [w["readings"] for w in by_name["device_stats_1m"]] == [1]
    assert run_job_on_rows("stats", {"sensor_readings": rows}, settings).late_stream == (
        "stats_late_rows"
    )
