"""Tests of the synthetic sensor data generator: determinism, shape, labels, ranges, files."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tidebox.core.errors import ConfigError, InputFileError, TideboxError
from tidebox.core.settings import SENSOR_COLUMNS, SENSORS
from tidebox.streams.generate import (
    ANOMALY_TYPES,
    GenerateSpec,
    generate_frame,
    summarize_anomalies,
    write_dataset,
)

SMALL = GenerateSpec(devices=4, hours=1.0, interval_seconds=10.0, anomaly_rate=0.01)
BIG = GenerateSpec(devices=40, hours=12.0, interval_seconds=10.0, seed=7, anomaly_rate=0.002)
RANGES = {
    "temperature": (-40, 125),
    "humidity": (0, 100),
    "vibration": (0, 100),
    "battery": (0, 100),
}


@pytest.fixture(scope="module")
def big_frame() -> pd.DataFrame:
    return generate_frame(BIG)


def test_same_seed_gives_identical_frame() -> None:
    pd.testing.assert_frame_equal(generate_frame(SMALL), generate_frame(SMALL))


def test_different_seed_gives_different_values() -> None:
    other = generate_frame(GenerateSpec(devices=4, hours=1.0, anomaly_rate=0.01, seed=43))
    assert not np.allclose(generate_frame(SMALL)["temperature"], other["temperature"])


def test_row_count_is_devices_times_readings() -> None:
    frame = generate_frame(GenerateSpec(devices=3, hours=0.5, interval_seconds=15.0))
    assert len(frame) == 3 * 120
    assert frame["device_id"].nunique() == 3
    assert frame.groupby("device_id").size().eq(120).all()


def test_columns_and_dtypes_follow_config() -> None:
    frame = generate_frame(SMALL)
    assert list(frame.columns) == list(SENSOR_COLUMNS)
    assert str(frame["event_time"].dtype) == "datetime64[ms, UTC]"
    assert all(frame[name].dtype == np.float64 for name in SENSORS)
    assert frame["is_anomaly"].dtype == np.bool_
    assert frame["device_id"].iloc[0] == "dev-001"
    assert frame["event_time"].iloc[0] == pd.Timestamp("2026-01-01", tz="UTC")


def test_rows_sorted_by_time_then_device(big_frame: pd.DataFrame) -> None:
    ordered = big_frame.sort_values(["event_time", "device_id"], kind="stable")
    assert ordered.index.equals(big_frame.index)
    assert not big_frame.duplicated(["event_time", "device_id"]).any()


def test_readings_are_spaced_by_the_interval() -> None:
    spec = GenerateSpec(devices=2, hours=0.1, interval_seconds=0.5)
    times = generate_frame(spec).query("device_id == 'dev-002'")["event_time"]
    assert times.diff().dropna().eq(pd.Timedelta(milliseconds=500)).all()


def test_all_anomaly_kinds_appear_at_a_plausible_rate(big_frame: pd.DataFrame) -> None:
    summary = summarize_anomalies(big_frame)
    assert set(summary) == set(ANOMALY_TYPES)
    assert all(count > 0 for count in summary.values()), summary
    # 40 devices x 4320 readings x 0.002 = ~346 episodes, ~86 of each kind; spikes are 1 row.
    assert 40 <= summary["spike"] <= 130, summary
    assert 0.03 <= big_frame["is_anomaly"].mean() <= 0.35
    assert set(big_frame["anomaly_sensor"].dropna()) == set(SENSORS)


def test_zero_rate_gives_no_anomalies() -> None:
    frame = generate_frame(GenerateSpec(devices=3, hours=2.0, anomaly_rate=0.0))
    assert not frame["is_anomaly"].any()
    assert summarize_anomalies(frame) == dict.fromkeys(ANOMALY_TYPES, 0)


def test_labels_are_consistent(big_frame: pd.DataFrame) -> None:
    flagged = big_frame["is_anomaly"]
    assert flagged.equals(big_frame["anomaly_type"].notna())
    assert flagged.equals(big_frame["anomaly_sensor"].notna())
    assert set(big_frame["anomaly_type"].dropna()) <= set(ANOMALY_TYPES)


def test_physical_ranges_hold_for_all_rows(big_frame: pd.DataFrame) -> None:
    for name, (low, high) in RANGES.items():
        assert big_frame[name].between(low, high).all(), name
    assert big_frame[list(SENSORS)].notna().all().all()


def test_normal_battery_drains_monotonically(big_frame: pd.DataFrame) -> None:
    normal = big_frame[~big_frame["is_anomaly"]]
    for _, battery in normal.groupby("device_id")["battery"]:
        assert battery.is_monotonic_decreasing


def test_stuck_episodes_repeat_one_value(big_frame: pd.DataFrame) -> None:
    stuck = big_frame[big_frame["anomaly_type"] == "stuck"]
    for (_, sensor), rows in stuck.groupby(["device_id", "anomaly_sensor"]):
        values = rows[sensor].to_numpy()
        # a device may have several stuck episodes; each one holds a single value
        assert len(np.unique(values)) <= len(rows) // 30 + 1


def test_humidity_is_anti_correlated_with_temperature() -> None:
    frame = generate_frame(GenerateSpec(devices=5, hours=24.0, interval_seconds=60.0, seed=3))
    normal = frame[~frame["is_anomaly"]]
    for _, rows in normal.groupby("device_id"):
        assert rows["temperature"].corr(rows["humidity"]) < -0.5


def test_summarize_counts_rows_per_type() -> None:
    frame = generate_frame(SMALL)
    assert sum(summarize_anomalies(frame).values()) == int(frame["is_anomaly"].sum())


def read_back(path: Path) -> pd.DataFrame:
    """A written file as a frame with the generator's dtypes, to compare with the source."""
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pandas()
    if path.suffix == ".csv":
        frame = pd.read_csv(path, dtype={"device_id": str})
    else:
        frame = pd.read_json(path, lines=True, dtype={"device_id": str}, convert_dates=False)
    frame["event_time"] = pd.to_datetime(frame["event_time"], format="ISO8601").astype(
        "datetime64[ms, UTC]"
    )
    for name in ("anomaly_type", "anomaly_sensor"):
        frame[name] = frame[name].astype(object).where(frame[name].notna(), None)
    return frame


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".json", ".parquet"])
def test_file_round_trip(tmp_path: Path, suffix: str) -> None:
    target = tmp_path / "nested" / "deeper" / f"readings{suffix}"
    result = write_dataset(SMALL, target)
    expected = generate_frame(SMALL)
    assert result.path == target and target.is_file()
    assert (result.rows, result.devices) == (len(expected), 4)
    assert result.anomalies == int(expected["is_anomaly"].sum()) > 0
    assert result.start == datetime(2026, 1, 1, tzinfo=UTC)
    assert result.end == expected["event_time"].iloc[-1]
    pd.testing.assert_frame_equal(read_back(target), expected)
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temp file left


def test_csv_is_byte_identical_and_uses_iso_utc(tmp_path: Path) -> None:
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    write_dataset(SMALL, first)
    write_dataset(SMALL, second)
    assert first.read_bytes() == second.read_bytes()
    lines = first.read_text().splitlines()
    assert lines[0] == ",".join(SENSOR_COLUMNS)
    fields = lines[1].split(",")
    assert fields[1] == "2026-01-01T00:00:00.000Z"
    assert fields[6] in {"true", "false"}
    assert lines[5].split(",")[1] == "2026-01-01T00:00:10.000Z"


def test_jsonl_uses_iso_utc_booleans_and_null(tmp_path: Path) -> None:
    target = tmp_path / "r.jsonl"
    write_dataset(SMALL, target)
    records: list[dict[str, Any]] = [json.loads(line) for line in target.open()]
    assert list(records[0]) == list(SENSOR_COLUMNS)
    assert records[0]["event_time"] == "2026-01-01T00:00:00.000Z"
    assert all(isinstance(r["is_anomaly"], bool) for r in records)
    normal = next(r for r in records if not r["is_anomaly"])
    assert normal["anomaly_type"] is None and normal["anomaly_sensor"] is None
    assert "true" in target.read_text() and "null" in target.read_text()


def test_parquet_schema(tmp_path: Path) -> None:
    target = tmp_path / "r.parquet"
    write_dataset(SMALL, target)
    schema = pq.read_schema(target)
    assert schema.names == list(SENSOR_COLUMNS)
    assert schema.field("event_time").type == pa.timestamp("ms", tz="UTC")
    assert schema.field("is_anomaly").type == pa.bool_()
    assert schema.field("device_id").type == pa.string()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"devices": 0}, "devices"),
        ({"devices": 2.5}, "devices"),
        ({"hours": 0}, "hours"),
        ({"hours": float("nan")}, "hours"),
        ({"interval_seconds": -1}, "interval_seconds"),
        ({"anomaly_rate": -0.1}, "anomaly_rate"),
        ({"seed": -1}, "seed"),
        ({"start": datetime(2026, 1, 1)}, "start"),
        ({"hours": 0.001}, "shorter than one interval"),
        ({"devices": 100_000, "hours": 1000.0}, "rows"),
    ],
)
def test_bad_spec_raises_config_error(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError, match=field) as caught:
        GenerateSpec(**changes)
    assert isinstance(caught.value, TideboxError)
    assert "\n" not in str(caught.value)


def test_unknown_suffix_raises_input_file_error(tmp_path: Path) -> None:
    target = tmp_path / "out" / "readings.txt"
    with pytest.raises(InputFileError, match=r"unsupported format '\.txt'; use \.csv") as caught:
        write_dataset(SMALL, target)
    assert caught.value.path == str(target)
    assert not target.parent.exists()


def test_generation_is_fast() -> None:
    began = time.perf_counter()
    frame = generate_frame(GenerateSpec())
    assert len(frame) == 43_200
    assert time.perf_counter() - began < 1.0
