"""Every window kind shipped in jobs/, run with the harness on the same generated readings."""

from __future__ import annotations

from collections import Counter

import pandas as pd
import pytest

from tests.support import JOBS, repo_settings
from tidebox.flink.harness import run_job_on_rows
from tidebox.streams.generate import GenerateSpec, generate_frame

pytestmark = [pytest.mark.flink]

READINGS = generate_frame(GenerateSpec(devices=4, hours=0.5, interval_seconds=15, seed=2))


def run(job: str) -> list[dict]:  # type: ignore[type-arg]
    [rows] = run_job_on_rows(JOBS / job, {"sensor_readings": READINGS}, repo_settings()).values()
    return rows


def test_hopping_windows_overlap() -> None:
    rows = run("temperature_hop_5m.sql")
    full = [r for r in rows if r["readings"] == 20]  # 5 minutes x 4 readings a minute
    assert len(full) == 4 * 26  # per device: windows ending 00:05 ... 00:30
    assert {(r["window_end"] - r["window_start"]).seconds for r in rows} == {300}


def test_cumulating_windows_grow_within_the_hour() -> None:
    rows = run("battery_cumulative_1h.sql")
    one = sorted((r for r in rows if r["device_id"] == "dev-001"), key=lambda r: r["window_end"])
    # windows end every 10 minutes up to the hour; the data covers its first 30 minutes
    assert [r["readings"] for r in one] == [40, 80, 120, 120, 120, 120]
    assert [r["window_end"].minute for r in one] == [10, 20, 30, 40, 50, 0]
    assert {r["window_start"] for r in one} == {pd.Timestamp("2026-01-01").to_pydatetime()}


def test_sessions_end_after_two_silent_minutes() -> None:
    quiet = READINGS[~READINGS.event_time.between("2026-01-01 00:10Z", "2026-01-01 00:13Z")]
    [rows] = run_job_on_rows(JOBS / "device_sessions.sql", {"sensor_readings": quiet}).values()
    assert Counter(r["device_id"] for r in rows) == dict.fromkeys(
        ["dev-001", "dev-002", "dev-003", "dev-004"], 2
    )
    assert sum(r["readings"] for r in rows) == len(quiet)


def test_top_three_per_minute() -> None:
    rows = run("top_vibration_1m.sql")
    per_window = Counter(r["window_start"] for r in rows)
    assert set(per_window.values()) == {3} and len(per_window) == 30
    first = sorted((r for r in rows if r["window_start"].minute == 0), key=lambda r: r["place"])
    minute = READINGS[READINGS.event_time < pd.Timestamp("2026-01-01 00:01Z")]
    expected = minute.groupby("device_id").vibration.max().sort_values(ascending=False)
    assert [r["device_id"] for r in first] == list(expected.index[:3])


def test_kinesis_step_rows_are_stamped_with_the_window_end() -> None:
    rows = run("kinesis_step_60s.sql")
    assert len(rows) == 4 * 30 and all(r["readings"] == 4 for r in rows)
    assert min(r["row_time"] for r in rows) == pd.Timestamp("2026-01-01 00:01").to_pydatetime()


def test_the_kda_application_of_the_step_example_gives_the_same_windows() -> None:
    from tidebox.flink.kda.job import KdaBinding

    arrivals = READINGS.assign(ROWTIME=READINGS.event_time)  # arriving at their event time
    [rows] = run_job_on_rows(
        JOBS / "kinesis_step_60s.kda.sql",
        {"sensor_readings": arrivals},
        repo_settings(),
        kda=KdaBinding("sensor_readings"),
    ).values()
    assert len(rows) == 4 * 30 and all(r["READINGS"] == 4 for r in rows)
    assert min(r["ROW_TIME"] for r in rows) == pd.Timestamp("2026-01-01 00:01").to_pydatetime()
    first = READINGS[READINGS.event_time < pd.Timestamp("2026-01-01 00:01Z")]
    means = first.groupby("device_id").temperature.mean()
    got = {r["DEVICE_ID"]: r["TEMPERATURE_AVG"] for r in rows if r["ROW_TIME"].minute == 1}
    assert got == pytest.approx(means.to_dict())


def test_reference_data_is_joined_to_every_window() -> None:
    rows = run("device_stats_by_site.sql")  # `devices`: the reference file this tidebox.yaml names
    assert len(rows) == 4 * 30
    sites = {r["device_id"]: r["site"] for r in rows}
    assert sites == {"dev-001": "south", "dev-002": "east", "dev-003": "west", "dev-004": "north"}
    given = [{"device_id": "dev-001", "site": "lab", "model": "X", "installed": "2026-01-01"}]
    [own] = run_job_on_rows(
        JOBS / "device_stats_by_site.sql",
        {"sensor_readings": READINGS, "devices": given},
        repo_settings(),
    ).values()
    assert {r["site"] for r in own} == {"lab"} and len(own) == 30  # inner join: dev-001 only


def test_python_table_api_job_windows_like_sql() -> None:
    rows = run("vibration_peaks_5m.py")
    assert len(rows) == 4 * 6  # 4 devices x six 5-minute windows in half an hour
    assert {r["readings"] for r in rows} == {20}
    frame = READINGS.assign(w=READINGS.event_time.dt.floor("5min"))
    expected = frame.groupby(["device_id", "w"]).vibration.max()
    for row in rows:
        start = pd.Timestamp(row["window_start"]).tz_localize("UTC")
        assert row["vibration_max"] == expected[(row["device_id"], start)]


def test_python_datastream_job_keeps_keyed_state_per_device() -> None:
    readings = READINGS.copy()
    readings.loc[readings.index[40], "temperature"] += 12.0  # one spike: two jumps
    rows = run_job_on_rows(JOBS / "temperature_jumps.py", {"sensor_readings": readings})
    spiked = readings.loc[readings.index[40], "device_id"]
    found = rows["temperature_jumps"]
    assert {r["device_id"] for r in found} == {spiked}
    assert len(found) == 2
    assert found[0]["temperature"] - found[0]["previous_temperature"] > 5
    assert found[1]["previous_temperature"] - found[1]["temperature"] > 5
