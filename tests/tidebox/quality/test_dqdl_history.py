"""The history of data-quality runs in the catalog's SQLite file: stored, read back most recent
first, per table and ruleset, and safe with two writers at once."""

from __future__ import annotations

import math
import multiprocessing
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tidebox.core.errors import QualityHistoryError
from tidebox.core.settings import Settings
from tidebox.lake.catalog import catalog_path
from tidebox.lake.catalog_store import Catalog, CatalogTable
from tidebox.quality.dqdl.history import list_runs, metric_history, record_run

T0 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
ROWS = "Dataset.*.RowCount"
MEAN = "Column.temperature.Mean"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(bucket=tmp_path / "bucket", state_dir=tmp_path / "state")


def _run(
    settings: Settings,
    n: int,
    metrics: dict[str, float],
    table: str = "sensor_readings",
    ruleset: str = "readings",
    score: float = 1.0,
) -> int:
    """Record run number ``n`` (started ``n`` hours after T0, two seconds long)."""
    started = T0 + timedelta(hours=n)
    return record_run(
        settings, table, ruleset, started, started + timedelta(seconds=2), score, metrics
    )


def test_no_catalog_and_no_runs_read_as_empty_history(settings: Settings) -> None:
    assert metric_history(settings, "t", ROWS) == []
    assert list_runs(settings, "t") == []
    assert not catalog_path(settings).exists()  # reading created nothing
    Catalog(catalog_path(settings)).close()  # a catalog from before the history tables
    assert metric_history(settings, "t", ROWS) == [] and list_runs(settings, "t") == []


def test_several_runs_read_back_most_recent_first(settings: Settings) -> None:
    for n, rows in enumerate([100, 110, 120, 130]):
        _run(settings, n, {ROWS: rows, MEAN: 20.0 + n}, score=0.5 + n / 10)
    assert metric_history(settings, "sensor_readings", ROWS) == [130.0, 120.0, 110.0, 100.0]
    assert metric_history(settings, "sensor_readings", ROWS, last=3) == [130.0, 120.0, 110.0]
    assert metric_history(settings, "SENSOR_READINGS", MEAN, last=1) == [23.0]
    runs = list_runs(settings, "sensor_readings")
    assert [r.score for r in runs] == pytest.approx([0.8, 0.7, 0.6, 0.5])
    assert runs[0].metrics == {MEAN: 23.0, ROWS: 130.0}
    assert runs[0].started == T0 + timedelta(hours=3)
    assert runs[0].completed == T0 + timedelta(hours=3, seconds=2)
    assert runs[0].table == "sensor_readings" and runs[0].ruleset == "readings"
    assert [r.id for r in list_runs(settings, "sensor_readings", last=2)] == [4, 3]


def test_order_is_by_start_time_not_by_recording(settings: Settings) -> None:
    _run(settings, 5, {ROWS: 500})
    _run(settings, 1, {ROWS: 100})  # recorded late, started early (a backfill)
    _run(settings, 5, {ROWS: 501})  # same start: the later recorded counts as more recent
    assert metric_history(settings, "sensor_readings", ROWS) == [501.0, 500.0, 100.0]


def test_history_is_per_table_and_optionally_per_ruleset(settings: Settings) -> None:
    _run(settings, 0, {ROWS: 1}, ruleset="a")
    _run(settings, 1, {ROWS: 2}, ruleset="b")
    _run(settings, 2, {ROWS: 3}, ruleset="a", table="other")
    _run(settings, 3, {MEAN: 9.0}, ruleset="a")  # a run without the metric is skipped
    assert metric_history(settings, "sensor_readings", ROWS) == [2.0, 1.0]
    assert metric_history(settings, "sensor_readings", ROWS, ruleset="a") == [1.0]
    assert metric_history(settings, "sensor_readings", ROWS, ruleset="a", last=1) == [1.0]
    assert metric_history(settings, "other", ROWS) == [3.0]
    assert [r.ruleset for r in list_runs(settings, "sensor_readings", ruleset="b")] == ["b"]


def test_values_that_are_not_numbers_are_not_history(settings: Settings) -> None:
    _run(settings, 0, {MEAN: math.nan, ROWS: 0})
    assert metric_history(settings, "sensor_readings", MEAN) == []
    assert metric_history(settings, "sensor_readings", ROWS) == [0.0]


def test_bad_arguments_are_refused(settings: Settings) -> None:
    with pytest.raises(QualityHistoryError, match="score is between 0 and 1"):
        _run(settings, 0, {ROWS: 1}, score=1.5)
    with pytest.raises(QualityHistoryError, match="positive whole number"):
        metric_history(settings, "t", ROWS, last=0)
    assert list_runs(settings, "sensor_readings") == []  # the refused run left nothing


def test_history_lives_beside_the_catalogs_tables(settings: Settings) -> None:
    catalog = Catalog(catalog_path(settings))
    catalog.put(CatalogTable("sensor_readings", "/data/r"))
    _run(settings, 0, {ROWS: 7})
    assert [t.name for t in catalog.tables()] == ["sensor_readings"]
    catalog.close()
    with sqlite3.connect(catalog_path(settings)) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"tables", "partitions", "dq_runs", "dq_metrics"} <= tables


def _writer(state: str, worker: int) -> None:
    settings = Settings(state_dir=Path(state))
    for i in range(25):
        _run(settings, i, {ROWS: worker * 1000 + i, MEAN: float(i)}, ruleset=f"w{worker}")


def test_two_processes_recording_at_once_lose_nothing(settings: Settings) -> None:
    workers = [
        multiprocessing.Process(target=_writer, args=(str(settings.state_dir), w)) for w in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    runs = list_runs(settings, "sensor_readings")
    assert len(runs) == 50 and all(len(r.metrics) == 2 for r in runs)
    assert metric_history(settings, "sensor_readings", ROWS, ruleset="w1", last=2) == [
        1024.0,
        1023.0,
    ]
