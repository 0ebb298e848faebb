"""Athena-style queries: pruning, data scanned and its cost, errors, the Python entry point."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.support import month_of_readings
from tidebox.core.errors import QueryError, TableNotFoundError
from tidebox.core.settings import Settings
from tidebox.lake.catalog import catalog_path, discover_partitions
from tidebox.lake.catalog_store import Catalog, CatalogTable
from tidebox.lake.query import MB, billed_bytes, query, run_query
from tidebox.lake.session import EmptyTableError

KEYS = (("dt", "string"), ("hour", "string"))
COLUMNS = (
    ("device_id", "string"),
    ("event_time", "timestamp"),
    ("temperature", "double"),
    ("humidity", "double"),
)


def register(settings: Settings, name: str, location: Path, **fields: object) -> CatalogTable:
    table = CatalogTable(
        name, str(location), **{"columns": COLUMNS, "partition_keys": KEYS, **fields}
    )  # type: ignore[arg-type]
    catalog = Catalog(catalog_path(settings))
    try:
        catalog.put(table)
        discover_partitions(settings, catalog, table)
    finally:
        catalog.close()
    return table


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, list[Path]]:
    root = tmp_path_factory.mktemp("month")
    settings = Settings(bucket=root / "bucket", state_dir=root / "state")
    files = month_of_readings(settings.bucket_path / "readings", rows=2000)
    register(settings, "readings", settings.bucket_path / "readings")
    return settings, files


def chunk_bytes(path: Path, columns: list[str]) -> int:
    meta = pq.read_metadata(path)
    return sum(
        meta.row_group(r).column(c).total_compressed_size
        for r in range(meta.num_row_groups)
        for c in range(meta.num_columns)
        if meta.schema.column(c).name in columns
    )


def test_a_filter_on_partitions_opens_only_their_files(month: tuple[Settings, list[Path]]) -> None:
    settings, files = month
    result = run_query(
        settings,
        "SELECT count(*) AS n, avg(temperature) AS t FROM readings "
        "WHERE dt = '2026-01-15' AND hour = '07'",
    )
    assert result.table.to_pylist()[0]["n"] == 2000
    assert result.files_scanned == 1  # of 720
    hour = next(f for f in files if "dt=2026-01-15/hour=07" in str(f))
    needed = chunk_bytes(hour, ["temperature"])
    # the column chunk, plus DuckDB's 16 KB footer reads of that file and of the first file
    # (which binds the schema)
    assert needed <= result.bytes_scanned <= needed + 2 * 16384


def test_data_scanned_follows_the_columns_and_partitions_read(
    month: tuple[Settings, list[Path]],
) -> None:
    settings, files = month
    one = run_query(settings, "SELECT avg(temperature) FROM readings WHERE dt = '2026-01-02'")
    two = run_query(
        settings, "SELECT avg(temperature), avg(humidity) FROM readings WHERE dt = '2026-01-02'"
    )
    month_scan = run_query(settings, "SELECT avg(temperature) FROM readings")
    assert one.files_scanned == 24 and month_scan.files_scanned == 720
    day = [f for f in files if "dt=2026-01-02" in str(f)]
    assert one.bytes_scanned >= sum(chunk_bytes(f, ["temperature"]) for f in day)
    assert two.bytes_scanned >= sum(chunk_bytes(f, ["temperature", "humidity"]) for f in day)
    assert one.bytes_scanned < two.bytes_scanned < 2.5 * one.bytes_scanned
    assert 25 * one.bytes_scanned < month_scan.bytes_scanned < 35 * one.bytes_scanned
    table_size = sum(os.path.getsize(f) for f in files)
    assert month_scan.bytes_scanned < table_size  # columns not read are not billed


def test_cost_is_athena_s(month: tuple[Settings, list[Path]]) -> None:
    assert billed_bytes(0) == 10 * MB
    assert billed_bytes(10 * MB) == 10 * MB
    assert billed_bytes(10 * MB + 1) == 11 * MB
    assert billed_bytes(1 << 40) == 1 << 40
    settings, _ = month
    result = run_query(settings, "SELECT count(*) FROM readings WHERE dt = '2026-01-03'")
    assert result.billed_bytes == 10 * MB  # a small scan pays the 10 MB minimum
    assert result.cost_usd == pytest.approx(10 / (1 << 20) * 5)


def test_partition_keys_are_columns(month: tuple[Settings, list[Path]]) -> None:
    settings, _ = month
    rows = run_query(
        settings,
        "SELECT dt, count(DISTINCT hour) AS hours, count(*) AS n FROM readings "
        "WHERE dt BETWEEN '2026-01-10' AND '2026-01-11' GROUP BY dt ORDER BY dt",
    ).table.to_pylist()
    assert rows == [
        {"dt": "2026-01-10", "hours": 24, "n": 48000},
        {"dt": "2026-01-11", "hours": 24, "n": 48000},
    ]


@pytest.mark.parametrize(
    ("sql", "error", "words"),
    [
        ("SELECT * FROM nowhere", TableNotFoundError, "unknown table 'nowhere'"),
        ("SELECT pressure FROM readings", QueryError, "unknown column 'pressure'"),
        ("SELEKT 1 FROM readings", QueryError, "syntax error"),
        ("   ", QueryError, "empty query"),
    ],
)
def test_errors_name_the_problem(
    month: tuple[Settings, list[Path]], sql: str, error: type[Exception], words: str
) -> None:
    settings, _ = month
    with pytest.raises(error, match=words):
        run_query(settings, sql)


def test_a_table_on_an_empty_or_missing_prefix_says_so(tmp_path: Path) -> None:
    settings = Settings(bucket=tmp_path / "bucket", state_dir=tmp_path / "state")
    register(settings, "ghost", tmp_path / "bucket" / "nothing", partition_keys=())
    with pytest.raises(EmptyTableError, match=r"table 'ghost' has no data at .*nothing"):
        run_query(settings, "SELECT * FROM ghost")


def test_hidden_and_underscore_files_are_not_data(tmp_path: Path) -> None:
    settings = Settings(bucket=tmp_path / "bucket", state_dir=tmp_path / "state")
    files = month_of_readings(settings.bucket_path / "r", days=1, rows=10)
    copy = pq.read_table(files[0])
    pq.write_table(copy, files[0].parent / ".hidden.parquet")
    pq.write_table(copy, files[0].parent / "_SUCCESS.parquet")
    (files[0].parent / ".half.parquet.tmp").write_bytes(b"PAR1 half")
    register(settings, "r", settings.bucket_path / "r")
    assert run_query(settings, "SELECT count(*) AS n FROM r").table.to_pylist() == [{"n": 240}]


def test_a_corrupt_file_is_a_query_error(tmp_path: Path) -> None:
    settings = Settings(bucket=tmp_path / "bucket", state_dir=tmp_path / "state")
    files = month_of_readings(settings.bucket_path / "r", days=1, rows=10)
    files[3].write_bytes(b"not parquet at all")
    register(settings, "r", settings.bucket_path / "r")
    with pytest.raises(QueryError, match=r"readings\.parquet"):
        run_query(settings, "SELECT count(*) FROM r")


def test_paths_with_quotes_are_read(tmp_path: Path) -> None:
    settings = Settings(bucket=tmp_path / "o'brien" / "bucket", state_dir=tmp_path / "state")
    month_of_readings(settings.bucket_path / "r", days=1, rows=10)
    register(settings, "r", settings.bucket_path / "r")
    assert run_query(settings, "SELECT count(*) AS n FROM r").table.to_pylist() == [{"n": 240}]


def test_python_entry_point(month: tuple[Settings, list[Path]]) -> None:
    settings, _ = month
    table = query(
        "SELECT device_id, count(*) AS n FROM readings WHERE dt = '2026-01-01' GROUP BY 1",
        state_dir=settings.state_dir,
        bucket=settings.bucket_path,
    )
    frame = table.to_pandas()
    assert len(frame) == 20 and frame["n"].sum() == 48000
