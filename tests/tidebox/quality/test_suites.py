"""expectations/check.py: the shipped sensor_readings suite on good and corrupted frames."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tidebox.core.errors import CheckFailedError, ConfigError
from tidebox.core.settings import SENSOR_COLUMNS
from tidebox.quality.suites import CheckResult, load_suite, run_suite, suite_path

ROWS_PER_DEVICE = 60
DEVICES = 5


@pytest.fixture(scope="module")
def suite_file() -> Path:
    return suite_path("sensor_readings")


@pytest.fixture(scope="module")
def good_frame() -> pd.DataFrame:
    """300 readings of 5 devices, one per second, with in-range injected anomalies."""
    rng = np.random.default_rng(7)
    n = ROWS_PER_DEVICE * DEVICES
    start = pd.Timestamp("2024-05-01 12:00:00", tz="UTC")
    frame = pd.DataFrame(
        {
            "device_id": [f"dev-{i % DEVICES:03d}" for i in range(n)],
            "event_time": start + pd.to_timedelta(np.arange(n) // DEVICES, unit="s"),
            "temperature": rng.normal(21.0, 2.0, n),
            "humidity": rng.uniform(30.0, 60.0, n),
            "vibration": rng.uniform(0.0, 5.0, n),
            "battery": np.linspace(100.0, 80.0, n),
            "is_anomaly": np.zeros(n, dtype=bool),
            "anomaly_type": pd.Series([None] * n, dtype="object"),
            "anomaly_sensor": pd.Series([None] * n, dtype="object"),
        }
    )
    frame["event_time"] = frame["event_time"].astype("datetime64[ms, UTC]")
    anomalies = {
        10: ("spike", "temperature", 124.5),
        20: ("level_shift", "humidity", 99.0),
        30: ("drift", "vibration", 42.0),
        40: ("stuck", "battery", 0.0),
        50: ("spike", "temperature", -39.5),
    }
    for row, (kind, sensor, value) in anomalies.items():
        frame.loc[row, ["is_anomaly", "anomaly_type", "anomaly_sensor"]] = [True, kind, sensor]
        frame.loc[row, sensor] = value
    frame["dt"] = frame["event_time"].dt.strftime("%Y-%m-%d")
    frame["hour"] = frame["event_time"].dt.strftime("%H")
    return frame


def test_shipped_suite_loads(suite_file: Path) -> None:
    suite = load_suite(suite_file)
    assert suite.name == "sensor_readings"
    types = {e.type for e in suite.expectation_configurations}
    assert "expect_compound_columns_to_be_unique" in types
    assert "expect_table_row_count_to_be_between" in types
    checked = json.loads(suite_file.read_text())["expectations"][0]["kwargs"]["column_set"]
    assert set(checked) == set(SENSOR_COLUMNS)


def test_good_frame_passes(good_frame: pd.DataFrame, suite_file: Path) -> None:
    before = good_frame.copy()
    result = run_suite(good_frame, suite_file)
    assert isinstance(result, CheckResult)
    assert result.success, result.failed
    assert result.failed == []
    assert result.suite == "sensor_readings"
    assert result.rows == len(good_frame)
    assert len(result.outcomes) == len(load_suite(suite_file).expectations)
    assert result.outcomes[0].expectation == "expect_table_columns_to_match_set"  # suite order
    by_label = {(o.expectation, o.column): o for o in result.outcomes}
    humidity = by_label[("expect_column_values_to_be_between", "humidity")]
    assert humidity.detail == f"0 of {len(good_frame)} values unexpected"
    rows = by_label[("expect_table_row_count_to_be_between", None)]
    assert rows.detail == f"observed {len(good_frame)}"
    pd.testing.assert_frame_equal(good_frame, before)


@pytest.mark.parametrize("backend", ["numpy_nullable", "pyarrow"])
def test_other_dtype_backends(good_frame: pd.DataFrame, suite_file: Path, backend: str) -> None:
    frame = good_frame.convert_dtypes(dtype_backend=backend)
    assert run_suite(frame, suite_file).success
    frame.loc[3, "humidity"] = 101.0
    assert run_suite(frame, suite_file).failed == ["expect_column_values_to_be_between(humidity)"]


def _null_device(frame: pd.DataFrame) -> pd.DataFrame:
    frame.loc[7, "device_id"] = None
    return frame


def _humidity_out_of_range(frame: pd.DataFrame) -> pd.DataFrame:
    frame.loc[7, "humidity"] = 100.5
    return frame


def _duplicate_key(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([frame, frame.iloc[[7]]], ignore_index=True)


def _unknown_anomaly_type(frame: pd.DataFrame) -> pd.DataFrame:
    frame.loc[7, ["is_anomaly", "anomaly_type"]] = [True, "dropout"]
    return frame


@pytest.mark.parametrize(
    ("corrupt", "expected", "detail"),
    [
        (_null_device, "expect_column_values_to_not_be_null(device_id)", "1 of 300"),
        (_humidity_out_of_range, "expect_column_values_to_be_between(humidity)", "e.g. 100.5"),
        (_duplicate_key, "expect_compound_columns_to_be_unique(device_id,event_time)", "2 of 301"),
        (_unknown_anomaly_type, "expect_column_values_to_be_in_set(anomaly_type)", "'dropout'"),
    ],
)
def test_corrupted_frame_fails(
    good_frame: pd.DataFrame,
    suite_file: Path,
    corrupt: Callable[[pd.DataFrame], pd.DataFrame],
    expected: str,
    detail: str,
) -> None:
    result = run_suite(corrupt(good_frame.copy()), suite_file)
    assert not result.success
    assert result.failed == [expected]
    (outcome,) = [o for o in result.outcomes if not o.success]
    assert detail in outcome.detail
    error = CheckFailedError(result.suite, result.failed)  # what a caller would raise
    assert expected in str(error)


def test_missing_column_is_reported_not_raised(good_frame: pd.DataFrame, suite_file: Path) -> None:
    result = run_suite(good_frame.drop(columns=["battery"]), suite_file)
    assert result.failed == [
        "expect_table_columns_to_match_set",
        "expect_column_values_to_not_be_null(battery)",
        "expect_column_values_to_be_between(battery)",
    ]
    details = [o.detail for o in result.outcomes if not o.success]
    assert details[0] == "missing: battery"
    assert "battery" in details[1] and details[1].startswith("error: ")


def test_empty_frame_fails_row_count(good_frame: pd.DataFrame, suite_file: Path) -> None:
    result = run_suite(good_frame.iloc[:0], suite_file)
    assert result.rows == 0
    assert "expect_table_row_count_to_be_between" in result.failed


def test_run_prints_nothing(
    good_frame: pd.DataFrame, suite_file: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    run_suite(good_frame, suite_file)
    run_suite(_null_device(good_frame.copy()), suite_file)
    assert capfd.readouterr() == ("", "")


def test_suite_path(tmp_path: Path) -> None:
    assert suite_path("sensor_readings").name == "sensor_readings.json"
    (tmp_path / "mine.json").write_text("{}")
    assert suite_path("mine", tmp_path) == tmp_path / "mine.json"
    with pytest.raises(ConfigError, match=r"nope\.json"):
        suite_path("nope", tmp_path)
    with pytest.raises(ConfigError, match=r"absent\.json"):
        load_suite(tmp_path / "absent.json")


def _expectation(type_: str, **kwargs: object) -> dict[str, object]:
    return {"type": type_, "kwargs": kwargs}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"name": "x", "expectations": [', "invalid JSON"),
        ("[]", "must be a JSON object"),
        ({"expectations": []}, "needs a non-empty 'name'"),
        ({"name": "x", "expectations": {}}, "'expectations' list"),
        ({"name": "x", "expectations": [], "expectation": []}, "unknown suite key"),
        ({"name": "x", "expectations": [{"kwargs": {}}]}, "expectation 1: needs a 'type'"),
        (
            {"name": "x", "expectations": [_expectation("expect_moon_to_be_cheese")]},
            r"expectation 1 \(expect_moon_to_be_cheese\): unknown expectation type",
        ),
        (
            {
                "name": "x",
                "expectations": [
                    _expectation("expect_table_row_count_to_be_between", min_value=1),
                    _expectation("expect_column_values_to_be_between", min_value=0),
                ],
            },
            r"expectation 2 \(expect_column_values_to_be_between\): column: field required",
        ),
        (
            {"name": "x", "expectations": [{"type": "expect_column_to_exist", "kwarg": {}}]},
            "unknown key",
        ),
    ],
)
def test_broken_suite_is_config_error(tmp_path: Path, content: object, message: str) -> None:
    path = tmp_path / "broken.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    with pytest.raises(ConfigError, match=message) as caught:
        load_suite(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert "\n" not in str(caught.value)
    with pytest.raises(ConfigError):
        run_suite(pd.DataFrame({"a": [1]}), path)
