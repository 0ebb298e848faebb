"""The Glue-like catalog: persistence, sources of tables, partitions and repair, two writers."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.support import land, month_of_readings, repo_settings
from tidebox.core.errors import TableNotFoundError, TideboxError
from tidebox.core.settings import DEFAULT_STREAMS, Settings, TableSpec
from tidebox.lake.catalog import catalog_path, open_catalog
from tidebox.lake.catalog_store import Catalog, CatalogTable
from tidebox.lake.glue_types import duckdb_type, glue_type
from tidebox.lake.query import run_query
from tidebox.lake.tables import describe_table, drop_table, list_tables, repair_table

SPEC = next(s for s in DEFAULT_STREAMS if s.name == "sensor_readings")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(bucket=tmp_path / "bucket", state_dir=tmp_path / "state")


def test_tables_persist_and_unknown_ones_are_named(settings: Settings) -> None:
    catalog = Catalog(catalog_path(settings))
    catalog.put(CatalogTable("t", "/data/t", "json", (("a", "bigint"),), (("dt", "string"),)))
    catalog.add_partitions("t", ["dt=2026-01-01", "dt=2026-01-02"])
    catalog.close()
    again = Catalog(catalog_path(settings))
    table = again.table("T")  # names are matched without regard to case, as Athena's
    assert (table.location, table.format, table.columns) == ("/data/t", "json", (("a", "bigint"),))
    assert again.partitions("t") == ["dt=2026-01-01", "dt=2026-01-02"]
    with pytest.raises(TableNotFoundError, match=r"unknown table 'u' \(catalog tables: t\)"):
        again.table("u")
    again.close()


def hourly_table_settings(tmp_path: Path) -> Settings:
    """Settings declaring `ref`: a day of hourly readings under tmp_path/ref, keyed dt/hour."""
    month_of_readings(tmp_path / "ref", days=1, rows=5)
    spec = TableSpec(
        name="ref",
        location=str(tmp_path / "ref"),
        partition_keys={"dt": "STRING", "hour": "STRING"},
    )
    return Settings(state_dir=tmp_path / "state", tables=(spec,))


def test_the_config_tables_are_registered(tmp_path: Path) -> None:
    settings = hourly_table_settings(tmp_path)
    [table] = list_tables(settings)
    assert (table.name, table.source, table.partition_names) == ("ref", "config", ["dt", "hour"])
    assert describe_table(settings, "ref").partitions[:2] == [
        "dt=2026-01-01/hour=00",
        "dt=2026-01-01/hour=01",
    ]
    with pytest.raises(TideboxError, match=r"declared in tidebox\.yaml"):
        drop_table(settings, "ref")


def test_a_read_creates_no_catalog_file(tmp_path: Path) -> None:
    settings = hourly_table_settings(tmp_path)
    rows = run_query(settings, "SELECT count(*) AS n FROM ref").table.to_pylist()
    assert rows == [{"n": 120}]
    assert not catalog_path(settings).exists()


def test_a_read_lists_a_declared_table_only_when_asked_and_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tidebox.lake.catalog as lake_catalog

    listed: list[str] = []
    real = lake_catalog.found_partitions

    def counting(settings: Settings, table: CatalogTable) -> list[str]:
        listed.append(table.name)
        return real(settings, table)

    monkeypatch.setattr(lake_catalog, "found_partitions", counting)
    month_of_readings(tmp_path / "a", days=1, rows=1)
    keys = {"dt": "STRING", "hour": "STRING"}
    tables = (
        TableSpec(name="a", location=str(tmp_path / "a"), partition_keys=keys),
        TableSpec(name="b", location=str(tmp_path / "b"), partition_keys=keys),
    )
    settings = Settings(state_dir=tmp_path / "state", tables=tables)
    with lake_catalog.reading_catalog(settings) as catalog:
        assert [t.name for t in catalog.tables()] == ["a", "b"]
        assert listed == []
        assert len(catalog.partitions("a")) == 24
        assert len(catalog.partitions("a")) == 24
    assert listed == ["a"]


def test_a_reference_csv_the_project_declares_is_a_table(tmp_path: Path) -> None:
    settings = repo_settings(state_dir=tmp_path / "state")
    assert describe_table(settings, "devices").table.format == "csv"
    rows = run_query(settings, "SELECT count(*) AS n FROM devices").table.to_pylist()
    assert rows[0]["n"] > 0


def test_delivered_tables_register_themselves_with_their_partitions(settings: Settings) -> None:
    times = ["2024-01-01T10:00:00Z", "2024-01-01T10:30:00Z", "2024-01-01T11:00:00Z"]
    records = [json.dumps({"device_id": "d1", "event_time": t}).encode() for t in times]
    land(settings.bucket_path, SPEC, records, settings=settings)
    description = describe_table(settings, "sensor_readings")
    assert description.table.source == "delivery"
    assert description.table.partition_keys == (("dt", "string"), ("hour", "string"))
    assert ("event_time", "timestamp") in description.table.columns
    assert description.partitions == ["dt=2024-01-01/hour=10", "dt=2024-01-01/hour=11"]
    assert (description.files, description.rows) == (2, 3)
    assert description.bytes == sum(
        p.stat().st_size for p in settings.bucket_path.rglob("*.parquet")
    )


def test_repair_picks_up_a_new_partition(settings: Settings) -> None:
    files = month_of_readings(settings.bucket_path / "r", days=1, rows=10)
    catalog = open_catalog(settings)
    catalog.put(
        CatalogTable(
            "r",
            str(settings.bucket_path / "r"),
            partition_keys=(("dt", "string"), ("hour", "string")),
        )
    )
    catalog.close()
    assert repair_table(settings, "r") == 24
    new = settings.bucket_path / "r" / "dt=2026-01-02" / "hour=00" / "late.parquet"
    new.parent.mkdir(parents=True)
    pq.write_table(pq.read_table(files[0]), new)
    count = "SELECT count(*) AS n FROM r"
    assert run_query(settings, count).table.to_pylist() == [{"n": 240}]  # not registered yet
    assert repair_table(settings, "r") == 1
    assert repair_table(settings, "r") == 0
    assert run_query(settings, count).table.to_pylist() == [{"n": 250}]


def test_drop_forgets_the_table_but_not_its_files(settings: Settings) -> None:
    month_of_readings(settings.bucket_path / "r", days=1, rows=3)
    catalog = open_catalog(settings)
    catalog.put(CatalogTable("r", str(settings.bucket_path / "r")))
    catalog.close()
    drop_table(settings, "r")
    assert "r" not in [t.name for t in list_tables(settings)]
    assert len(list((settings.bucket_path / "r").rglob("*.parquet"))) == 24


def _writer(path: str, worker: int) -> None:
    catalog = Catalog(Path(path))
    for i in range(40):
        catalog.put(CatalogTable(f"w{worker}_{i}", f"/data/{worker}/{i}"))
        catalog.add_partitions("shared", [f"k={worker}-{i}"])
    catalog.close()


def test_two_processes_writing_at_once_lose_nothing(settings: Settings) -> None:
    path = str(catalog_path(settings))
    Catalog(Path(path)).close()
    workers = [multiprocessing.Process(target=_writer, args=(path, w)) for w in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    catalog = Catalog(Path(path))
    assert len(catalog.tables()) == 80
    assert len(catalog.partitions("shared")) == 80
    assert catalog._db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    catalog.close()


def test_types_map_between_flink_duckdb_and_glue() -> None:
    assert glue_type("TIMESTAMP_LTZ(3)") == "timestamp"
    assert glue_type("VARCHAR") == "string"
    assert glue_type("DECIMAL(10, 2)") == "decimal(10,2)"
    assert glue_type("BIGINT[]") == "array<bigint>"
    assert duckdb_type("timestamp") == "TIMESTAMP WITH TIME ZONE"
    assert duckdb_type("array<double>") == "DOUBLE[]"


def test_reads_take_no_write_lock(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """A query, ``catalog show`` and ``catalog list`` answer while another process holds the
    catalog's write lock (a writer waits half a second here, so a read that writes fails)."""
    from tidebox.lake import catalog_store

    monkeypatch.setattr(catalog_store, "BUSY_TIMEOUT", 0.5)
    month_of_readings(settings.bucket_path / "r", days=1, rows=3)
    with_ref = settings.model_copy(
        update={
            "tables": (
                *repo_settings().tables,  # the sandbox's 'devices', a CSV file
                TableSpec(
                    name="ref",
                    location=str(settings.bucket_path / "r"),
                    partition_keys={"dt": "STRING", "hour": "STRING"},
                ),
            )
        }
    )
    repair = open_catalog(settings)  # registers no config table: neither 'ref' nor 'devices'
    repair.put(CatalogTable("r", str(settings.bucket_path / "r")))
    repair.close()
    holder = sqlite3.connect(catalog_path(settings), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("DELETE FROM partitions")  # a change in flight, not yet committed
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            open_catalog(with_ref)  # a writer does wait, and gives up
        assert run_query(with_ref, "SELECT count(*) AS n FROM r").table.to_pylist() == [{"n": 72}]
        ref = describe_table(with_ref, "ref")  # declared, merged in memory with its partitions
        assert (ref.table.source, len(ref.partitions), ref.rows) == ("config", 24, 72)
        assert describe_table(with_ref, "devices").rows  # counted by a query of its own
        assert {"r", "ref", "devices"} <= {t.name for t in list_tables(with_ref)}
    finally:
        holder.execute("ROLLBACK")
        holder.close()
