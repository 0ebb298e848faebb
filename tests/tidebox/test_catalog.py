"""Unit tests of tidebox.catalog: which folders under the bucket are landed tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import land
from tidebox.catalog import find_table, list_tables
from tidebox.config import DEFAULT_STREAMS, Settings
from tidebox.errors import TableNotFoundError

SPEC = next(s for s in DEFAULT_STREAMS if s.name == "sensor_readings")


def land_readings(bucket: Path) -> Any:
    """Three sensor readings over two hours, plus one bad record that goes to _errors."""
    records = [
        json.dumps({"device_id": "d-1", "event_time": f"2024-01-01T{t}Z", "temperature": 20.0})
        for t in ["10:00:00", "10:30:00", "11:00:00"]
    ]
    return land(bucket, SPEC, [r.encode() for r in records] + [b"not json"])


def write_parquet(path: Path, rows: int = 1) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"x": list(range(rows))}), path)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(bucket=tmp_path / "bucket", state_dir=tmp_path / "state")


def test_no_bucket_means_no_tables(settings: Settings) -> None:
    assert not settings.bucket_path.exists()
    assert list_tables(settings) == []


def test_landed_streams_are_tables(settings: Settings) -> None:
    bucket = settings.bucket_path
    sink = land_readings(bucket)
    write_parquet(bucket / "device_stats_1m" / "dt=2024-01-01" / "hour=10" / "part.parquet")

    tables = list_tables(settings)

    assert [t.name for t in tables] == ["device_stats_1m", "sensor_readings"]
    readings = tables[1]
    assert readings.location == (bucket / "sensor_readings").resolve()
    files = [o for o in sink.delivered if o.kind == "data"]
    assert readings.files == len(files) == 2
    assert readings.bytes == sum(f.bytes for f in files)
    assert set(readings.paths) == {(bucket / f.key).resolve() for f in files}


def test_errors_hidden_and_empty_folders_are_not_tables(settings: Settings) -> None:
    bucket = settings.bucket_path
    land_readings(bucket)
    assert (bucket / "_errors" / "sensor_readings").is_dir()
    write_parquet(bucket / "_errors" / "stray.parquet")
    write_parquet(bucket / "_scratch" / "x.parquet")
    write_parquet(bucket / ".staging" / "x.parquet")
    (bucket / "empty" / "dt=2024-01-01").mkdir(parents=True)
    (bucket / "notes").mkdir()
    (bucket / "notes" / "readme.txt").write_text("not a table")
    write_parquet(bucket / "loose.parquet")  # a file, not a folder

    assert [t.name for t in list_tables(settings)] == ["sensor_readings"]


def test_hidden_temporary_files_are_not_part_of_a_table(settings: Settings) -> None:
    bucket = settings.bucket_path
    write_parquet(bucket / "only_temp" / ".part-p000-000000000000-000000000009.parquet")
    (bucket / "only_temp" / ".part-p000-000000000000-000000000009.parquet.tmp").write_bytes(b"x")
    write_parquet(bucket / "mixed" / "hour=10" / "part.parquet")
    write_parquet(bucket / "mixed" / "hour=10" / ".part2.parquet")

    tables = list_tables(settings)

    assert [(t.name, t.files) for t in tables] == [("mixed", 1)]
    assert tables[0].bytes == (bucket / "mixed" / "hour=10" / "part.parquet").stat().st_size


def test_find_table(settings: Settings) -> None:
    land_readings(settings.bucket_path)
    table = find_table(settings, "sensor_readings")
    assert table.name == "sensor_readings"
    assert table.files == 2


def test_find_unknown_table_lists_the_known_ones(settings: Settings) -> None:
    land_readings(settings.bucket_path)
    write_parquet(settings.bucket_path / "device_stats_1m" / "part.parquet")
    with pytest.raises(TableNotFoundError) as info:
        find_table(settings, "sensor_reading")
    assert info.value.name == "sensor_reading"
    assert info.value.known == ["device_stats_1m", "sensor_readings"]
    assert str(info.value) == (
        "unknown table 'sensor_reading' (landed tables: device_stats_1m, sensor_readings)"
    )


def test_find_table_in_an_empty_bucket(settings: Settings) -> None:
    with pytest.raises(TableNotFoundError, match="none landed yet"):
        find_table(settings, "sensor_readings")


def test_errors_folder_is_not_findable(settings: Settings) -> None:
    land_readings(settings.bucket_path)
    with pytest.raises(TableNotFoundError):
        find_table(settings, "_errors")


def test_tables_declared_in_the_config_are_listed(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tidebox.config import TableSpec

    folder = tmp_path / "reference"
    (folder / "sub").mkdir(parents=True)
    pq.write_table(pa.table({"device_id": ["dev-001"], "site": ["north"]}), folder / "a.parquet")
    pq.write_table(
        pa.table({"device_id": ["dev-002"], "site": ["south"]}), folder / "sub" / "b.parquet"
    )
    settings = Settings(
        state_dir=tmp_path,
        bucket=tmp_path / "bucket",
        tables=(
            TableSpec(name="sites", location=str(folder)),
            TableSpec(name="sites_top", location=str(folder / "*.parquet")),
        ),
    )
    tables = {t.name: t for t in list_tables(settings)}
    assert tables["sites"].files == 2 and tables["sites_top"].files == 1
    from tidebox.query import run_query

    rows = run_query(settings, "SELECT site FROM sites ORDER BY site").table.to_pylist()
    assert rows == [{"site": "north"}, {"site": "south"}]
