"""The crawler: format, columns, Hive partition keys and partitions, from files alone."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.support import month_of_readings
from tidebox.core.settings import Settings
from tidebox.lake.crawler import CrawlError, crawl
from tidebox.lake.query import run_query
from tidebox.lake.tables import describe_table


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(bucket=tmp_path / "bucket", state_dir=tmp_path / "state")


def test_a_partitioned_parquet_prefix(settings: Settings) -> None:
    month_of_readings(settings.bucket_path / "raw" / "readings", days=2, rows=5)
    table, added = crawl(settings, "raw/readings", "readings")
    assert table.format == "parquet" and added == 48
    assert table.partition_keys == (("dt", "string"), ("hour", "string"))
    assert table.columns == (
        ("device_id", "string"),
        ("event_time", "timestamp"),
        ("temperature", "double"),
        ("humidity", "double"),
    )
    assert run_query(settings, "SELECT count(*) AS n FROM readings").table.to_pylist() == [
        {"n": 240}
    ]
    assert describe_table(settings, "readings").rows == 240


def test_json_lines_and_csv(settings: Settings) -> None:
    folder = settings.bucket_path / "events"
    folder.mkdir(parents=True)
    (folder / "a.jsonl").write_text(
        "\n".join(json.dumps({"id": i, "kind": "click", "score": i / 2}) for i in range(5)) + "\n"
    )
    table, _ = crawl(settings, str(folder), "events")
    assert table.format == "json" and ("id", "bigint") in table.columns
    assert run_query(settings, "SELECT sum(id) AS s FROM events").table.to_pylist() == [{"s": 10}]

    sites = settings.bucket_path / "sites"
    sites.mkdir()
    (sites / "sites.csv").write_text("site,lat\nnorth,60.1\nsouth,-33.9\n")
    csv_table, _ = crawl(settings, "sites", "sites")
    assert csv_table.format == "csv" and csv_table.columns == (
        ("site", "string"),
        ("lat", "double"),
    )
    assert run_query(settings, "SELECT count(*) AS n FROM sites").table.to_pylist() == [{"n": 2}]


def test_files_with_different_columns_are_read_by_name(settings: Settings) -> None:
    folder = settings.bucket_path / "evolving"
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"a": [1, 2]}), folder / "v1.parquet")
    pq.write_table(pa.table({"a": [3], "b": ["new"]}), folder / "v2.parquet")
    table, _ = crawl(settings, "evolving", "evolving")
    assert table.columns == (("a", "bigint"), ("b", "string"))
    rows = run_query(settings, "SELECT a, b FROM evolving ORDER BY a").table.to_pylist()
    assert rows == [{"a": 1, "b": None}, {"a": 2, "b": None}, {"a": 3, "b": "new"}]


def test_nothing_to_crawl(settings: Settings) -> None:
    with pytest.raises(CrawlError, match=r"nothing to crawl at .*missing"):
        crawl(settings, "missing", "t")
