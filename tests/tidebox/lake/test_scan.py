"""The counting filesystems: every byte DuckDB reads is counted once, on disk and on S3."""

from __future__ import annotations

import io
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from tests.support import make_bucket, month_of_readings
from tidebox.core.settings import Settings
from tidebox.lake.scan import Scanner


def test_reads_are_counted_once_per_byte(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    values = {"a": list(range(100_000)), "b": [f"v{i * 7919}" for i in range(100_000)]}
    pq.write_table(pa.table(values), path)
    for native in (False, True):  # through the counting filesystem, and by the process's counter
        scanner = Scanner()
        scanner.native = native
        con = duckdb.connect()
        con.execute("SET enable_external_file_cache = false")
        scanner.register(con, with_s3=False)
        uri = scanner.uri(str(path))
        assert uri.startswith("tidebox://") != native
        scanner.start()
        con.execute(f"SELECT * FROM read_parquet('{uri}')").fetchall()
        scanner.stop()
        whole = scanner.bytes_read
        assert path.stat().st_size * 0.9 < whole <= path.stat().st_size + 16384
        scanner.reset()
        scanner.start()
        con.execute(f"SELECT sum(a) FROM read_parquet('{uri}')").fetchall()
        scanner.stop()
        assert 0 < scanner.bytes_read < whole


def test_an_s3_table_is_queried_without_any_duckdb_extension(
    tmp_path: Path, s3_endpoint: str
) -> None:
    from tidebox.core.stores import open_store
    from tidebox.lake.crawler import crawl
    from tidebox.lake.query import run_query

    local = month_of_readings(tmp_path / "local", days=1, rows=50)
    bucket = make_bucket(s3_endpoint)
    store = open_store(f"s3://{bucket}/lake/readings", s3_endpoint)
    for path in local:
        store.put(path.relative_to(tmp_path / "local").as_posix(), path.read_bytes())
    settings = Settings(state_dir=tmp_path / "state", s3_endpoint=s3_endpoint)
    table, added = crawl(settings, f"s3://{bucket}/lake/readings", "remote")
    assert added == 24 and table.location == f"s3://{bucket}/lake/readings/"
    result = run_query(settings, "SELECT count(*) AS n FROM remote WHERE hour = '05'")
    assert result.table.to_pylist() == [{"n": 50}] and result.files_scanned == 1
    one = pq.ParquetFile(io.BytesIO(local[5].read_bytes())).metadata
    assert 0 < result.bytes_scanned <= 2 * (one.serialized_size + 16384)
