"""The shipped suite on landed Parquet: it passes on good data, fails on a corrupted copy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import land as deliver
from tidebox.core.errors import TableNotFoundError
from tidebox.core.settings import Settings
from tidebox.quality.landed import check_table
from tidebox.streams.generate import GenerateSpec, generate_frame
from tidebox.streams.replay import encode_records


def land(settings: Settings, table: str, records: list[bytes]) -> None:
    """Land JSON records exactly as the sink does for a stream of that name."""
    stream = settings.stream("sensor_readings")
    assert stream is not None
    deliver(
        settings.bucket_path, stream.model_copy(update={"name": table}), records, settings=settings
    )


def good_records() -> list[bytes]:
    frame = generate_frame(GenerateSpec(devices=5, hours=2, interval_seconds=20, seed=11))
    return [value for _, value, _ in encode_records(frame, "event_time", "device_id")]


def corrupt(records: list[bytes]) -> list[bytes]:
    rows = [json.loads(r) for r in records]
    rows[3]["humidity"] = 140.0  # out of the physical range
    rows[7]["device_id"] = None  # a reading from nowhere
    rows.append(dict(rows[10]))  # a duplicated reading
    return [json.dumps(r).encode() for r in rows]


def test_suite_passes_on_good_data_and_fails_on_a_corrupted_copy(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, bucket=tmp_path / "bucket")
    records = good_records()
    land(settings, "sensor_readings", records)
    land(settings, "sensor_readings_corrupted", corrupt(records))

    good = check_table(settings, "sensor_readings")
    assert good.success, good.failed
    assert good.rows == len(records)

    bad = check_table(settings, "sensor_readings", table="sensor_readings_corrupted")
    assert not bad.success
    assert set(bad.failed) == {
        "expect_column_values_to_be_between(humidity)",
        "expect_column_values_to_not_be_null(device_id)",
        "expect_compound_columns_to_be_unique(device_id,event_time)",
    }


def test_checking_a_table_that_never_landed_names_it(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, bucket=tmp_path / "bucket")
    with pytest.raises(TableNotFoundError, match="unknown table 'sensor_readings'"):
        check_table(settings, "sensor_readings")
