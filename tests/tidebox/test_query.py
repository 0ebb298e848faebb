"""Unit tests of tidebox.query: DuckDB views over landed Parquet, errors, the Python entry point."""

from __future__ import annotations

import json
import os
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import land
from tidebox.config import DEFAULT_STREAMS, Settings
from tidebox.errors import QueryError, TableNotFoundError
from tidebox.query import query, run_query

SPEC = next(s for s in DEFAULT_STREAMS if s.name == "sensor_readings")
TIMES = ["2024-01-01T10:00:00Z", "2024-01-01T10:30:00Z", "2024-01-01T11:00:00Z"]


def land_readings(bucket: Path) -> None:
    """Three sensor readings over two hours (two devices), plus one bad record in _errors."""
    records = [
        json.dumps({"device_id": device, "event_time": stamp, "temperature": 20.0 + i}).encode()
        for i, (stamp, device) in enumerate(zip(TIMES, ["d-1", "d-2", "d-1"], strict=True))
    ]
    land(bucket, SPEC, [*records, b"not json"], partitions=[0, 1, 0, 0])


def write_parquet(path: Path, table: pa.Table) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings(bucket=tmp_path / "bucket", state_dir=tmp_path / "state")
    land_readings(settings.bucket_path)
    return settings


def query_error(settings: Settings, sql: str) -> str:
    with pytest.raises(QueryError) as info:
        run_query(settings, sql)
    message = str(info.value)
    assert message
    assert "\n" not in message
    return message


# -- results -------------------------------------------------------------------------------------


def test_counts_rows(settings: Settings) -> None:
    result = run_query(settings, "SELECT count(*) AS n FROM sensor_readings")
    assert isinstance(result.table, pa.Table)
    assert result.table.to_pylist() == [{"n": 3}]
    assert result.rows == 1
    assert result.seconds >= 0


def test_hive_folders_are_columns(settings: Settings) -> None:
    result = run_query(
        settings,
        "SELECT dt, hour, count(*) AS n FROM sensor_readings GROUP BY dt, hour ORDER BY hour",
    )
    assert result.table.to_pylist() == [
        {"dt": date(2024, 1, 1), "hour": 10, "n": 2},
        {"dt": date(2024, 1, 1), "hour": 11, "n": 1},
    ]


def test_landed_columns_keep_their_types(settings: Settings) -> None:
    table = run_query(settings, "SELECT * FROM sensor_readings ORDER BY event_time").table
    # DuckDB hands back TIMESTAMPTZ as microseconds in its session time zone: same instants.
    assert pa.types.is_timestamp(table.schema.field("event_time").type)
    assert table.column("event_time").to_pylist() == [datetime.fromisoformat(t) for t in TIMES]
    assert table.schema.field("temperature").type == pa.float64()
    assert table.column("device_id").to_pylist() == ["d-1", "d-2", "d-1"]


def test_every_table_is_a_view(settings: Settings) -> None:
    write_parquet(
        settings.bucket_path / "devices" / "devices.parquet",
        pa.table({"device_id": ["d-1", "d-2"], "site": ["north", "south"]}),
    )
    result = run_query(
        settings,
        "SELECT site, count(*) AS n FROM sensor_readings JOIN devices USING (device_id) "
        "GROUP BY site ORDER BY site",
    )
    assert result.table.to_pylist() == [{"site": "north", "n": 2}, {"site": "south", "n": 1}]


def test_files_with_different_columns_are_unioned_by_name(settings: Settings) -> None:
    folder = settings.bucket_path / "events"
    write_parquet(folder / "a.parquet", pa.table({"id": [1], "a": ["x"]}))
    write_parquet(folder / "b.parquet", pa.table({"id": [2], "b": [True]}))
    table = run_query(settings, "SELECT id, a, b FROM events ORDER BY id").table
    assert table.to_pylist() == [{"id": 1, "a": "x", "b": None}, {"id": 2, "a": None, "b": True}]


# -- errors --------------------------------------------------------------------------------------


def test_unknown_table(settings: Settings) -> None:
    with pytest.raises(TableNotFoundError) as info:
        run_query(settings, "SELECT * FROM sensor_reading")
    assert info.value.name == "sensor_reading"
    assert info.value.known == ["sensor_readings"]
    assert "\n" not in str(info.value)


def test_errors_folder_is_not_a_table(settings: Settings) -> None:
    assert (settings.bucket_path / "_errors" / "sensor_readings").is_dir()
    with pytest.raises(TableNotFoundError):
        run_query(settings, "SELECT * FROM _errors")


def test_unknown_column(settings: Settings) -> None:
    message = query_error(settings, "SELECT no_such_column FROM sensor_readings")
    assert "no_such_column" in message


def test_syntax_error(settings: Settings) -> None:
    message = query_error(settings, "SELEC count(*) FROM sensor_readings")
    assert "syntax error" in message.lower()


@pytest.mark.parametrize("sql", ["", "   ", "\n\t"])
def test_empty_sql(settings: Settings, sql: str) -> None:
    assert query_error(settings, sql) == "empty query"


def test_hidden_parquet_files_are_not_queried(settings: Settings) -> None:
    hidden = settings.bucket_path / "sensor_readings" / "dt=2024-01-01" / "hour=10" / ".x.parquet"
    write_parquet(hidden, pq.read_table(next(hidden.parent.glob("sensor_readings-*.parquet"))))
    result = run_query(settings, "SELECT count(*) AS n FROM sensor_readings")
    assert result.table.to_pylist() == [{"n": 3}]


def test_corrupt_parquet_file_gives_a_query_error(settings: Settings) -> None:
    broken = settings.bucket_path / "broken" / "part.parquet"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"not parquet")
    query_error(settings, "SELECT * FROM broken")


def test_bucket_path_with_an_apostrophe(tmp_path: Path) -> None:
    settings = Settings(bucket=tmp_path / "o'brien" / "bucket", state_dir=tmp_path)
    land_readings(settings.bucket_path)
    result = run_query(settings, "SELECT count(*) AS n FROM sensor_readings")
    assert result.table.to_pylist() == [{"n": 3}]


# -- tidebox.query.query -------------------------------------------------------------------------


@pytest.fixture
def clean_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No TIDEBOX_* variables and an empty working folder (no ./tidebox.yaml)."""
    for name in list(os.environ):
        if name.startswith("TIDEBOX_"):
            monkeypatch.delenv(name)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def test_query_entry_point_returns_an_arrow_table(
    settings: Settings, clean_environment: Path
) -> None:
    table = query(
        "SELECT count(*) AS n FROM sensor_readings",
        bucket=settings.bucket_path,
        state_dir=settings.state_dir,
    )
    assert isinstance(table, pa.Table)
    assert table.to_pylist() == [{"n": 3}]


def test_query_entry_point_reads_the_usual_settings(
    settings: Settings, clean_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIDEBOX_BUCKET", str(settings.bucket_path))
    assert query("SELECT count(*) AS n FROM sensor_readings").to_pylist() == [{"n": 3}]

    monkeypatch.delenv("TIDEBOX_BUCKET")
    (clean_environment / "tidebox.yaml").write_text(f"bucket: '{settings.bucket_path}'\n")
    assert query("SELECT count(*) AS n FROM sensor_readings").to_pylist() == [{"n": 3}]


def test_query_entry_point_raises_tidebox_errors(
    settings: Settings, clean_environment: Path
) -> None:
    with pytest.raises(TableNotFoundError, match="none landed yet"):
        query("SELECT * FROM sensor_readings", state_dir=clean_environment)
