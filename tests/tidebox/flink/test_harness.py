"""Job tests without a broker: rows in, rows out, through the real Flink mini-cluster."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from tidebox.core.errors import JobError
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
