"""CTAS and UNLOAD in Athena's syntax: round trips, registration, and Athena's refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.support import month_of_readings
from tidebox.core.errors import QueryError
from tidebox.core.settings import Settings
from tidebox.lake.catalog import open_catalog
from tidebox.lake.catalog_store import CatalogTable
from tidebox.lake.query import run_query
from tidebox.lake.tables import describe_table


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings(bucket=tmp_path / "bucket", state_dir=tmp_path / "state")
    month_of_readings(settings.bucket_path / "readings", days=3, rows=20)
    catalog = open_catalog(settings)
    table = CatalogTable(
        "readings",
        str(settings.bucket_path / "readings"),
        columns=(("device_id", "string"), ("temperature", "double")),
        partition_keys=(("dt", "string"), ("hour", "string")),
    )
    catalog.put(table)
    catalog.add_partitions(
        "readings", [f"dt=2026-01-0{d}/hour={h:02d}" for d in (1, 2, 3) for h in range(24)]
    )
    catalog.close()
    return settings


DAILY = (
    "SELECT device_id, avg(temperature) AS temperature, count(*) AS readings, dt "
    "FROM readings GROUP BY device_id, dt"
)


def test_ctas_writes_partitioned_parquet_and_registers_it(settings: Settings) -> None:
    result = run_query(
        settings,
        "CREATE TABLE daily WITH (format = 'PARQUET', partitioned_by = ARRAY['dt'], "
        f"external_location = '{settings.bucket_path}/lake/daily/') AS {DAILY}",
    )
    assert result.statement == "CTAS" and result.table.to_pylist() == [{"rows": 60}]
    assert result.bytes_scanned > 0
    folders = sorted(p.name for p in (settings.bucket_path / "lake" / "daily").iterdir())
    assert folders == ["dt=2026-01-01", "dt=2026-01-02", "dt=2026-01-03"]
    one = next((settings.bucket_path / "lake" / "daily" / "dt=2026-01-01").iterdir())
    assert pq.read_schema(one).names == ["device_id", "temperature", "readings"]
    description = describe_table(settings, "daily")
    assert description.table.source == "ctas"
    assert description.table.partition_keys == (("dt", "string"),)
    assert description.partitions == ["dt=2026-01-01", "dt=2026-01-02", "dt=2026-01-03"]
    back = run_query(settings, "SELECT sum(readings) AS n FROM daily WHERE dt = '2026-01-02'")
    assert back.table.to_pylist() == [{"n": 480}] and back.files_scanned == 1


@pytest.mark.parametrize("fmt", ["JSON", "TEXTFILE"])
def test_ctas_in_text_formats_reads_back(settings: Settings, fmt: str) -> None:
    run_query(settings, f"CREATE TABLE d_{fmt} WITH (format = '{fmt}') AS {DAILY}")
    rows = run_query(
        settings, f"SELECT dt, sum(readings) AS n FROM d_{fmt} GROUP BY dt ORDER BY dt"
    ).table.to_pylist()
    assert [r["n"] for r in rows] == [480, 480, 480]
    assert (settings.bucket_path / "tables" / f"d_{fmt}").is_dir()  # the default location


def test_unload_writes_files_and_registers_nothing(settings: Settings) -> None:
    result = run_query(
        settings,
        "UNLOAD (SELECT device_id, temperature FROM readings WHERE dt = '2026-01-01') "
        "TO 'exports/day1/' WITH (format = 'JSON')",
    )
    assert result.statement == "UNLOAD" and result.table.to_pylist() == [{"rows": 480}]
    [written] = list((settings.bucket_path / "exports" / "day1").iterdir())
    lines = written.read_text().splitlines()
    assert len(lines) == 480 and set(json.loads(lines[0])) == {"device_id", "temperature"}
    assert "exports" not in [t.name for t in open_catalog(settings).tables()]


def test_too_many_partitions_fail_as_athena_and_leave_nothing(settings: Settings) -> None:
    with pytest.raises(QueryError, match=r"HIVE_TOO_MANY_OPEN_PARTITIONS.*limit of 100"):
        run_query(
            settings,
            "CREATE TABLE per_reading WITH (partitioned_by = ARRAY['minute']) AS "
            "SELECT device_id, temperature, CAST(row_number() OVER () AS VARCHAR) AS minute "
            "FROM readings",
        )
    assert not (settings.bucket_path / "tables" / "per_reading").exists()
    assert "per_reading" not in [t.name for t in open_catalog(settings).tables()]


@pytest.mark.parametrize(
    ("sql", "words"),
    [
        (f"CREATE TABLE readings AS {DAILY}", "already exists"),
        (
            "CREATE TABLE x WITH (partitioned_by = ARRAY['dt']) AS "
            "SELECT dt, device_id FROM readings",
            "HIVE_COLUMN_ORDER_MISMATCH",
        ),
        ("CREATE TABLE x WITH (format = 'ORC') AS SELECT 1 AS a", "format 'ORC' is not supported"),
        (
            "CREATE TABLE x WITH (bucket_count = 4) AS SELECT 1 AS a",
            "'bucket_count' is not supported",
        ),
        (
            "UNLOAD (SELECT 1 AS a) TO 'readings/' WITH (format = 'PARQUET')",
            "HIVE_PATH_ALREADY_EXISTS",
        ),
    ],
)
def test_athena_refusals(settings: Settings, sql: str, words: str) -> None:
    with pytest.raises(QueryError, match=words):
        run_query(settings, sql)


def test_ctas_if_not_exists_is_quiet(settings: Settings) -> None:
    result = run_query(settings, f"CREATE TABLE IF NOT EXISTS readings AS {DAILY}")
    assert "already exists" in result.message
