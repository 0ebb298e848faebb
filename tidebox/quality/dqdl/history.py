"""The history of data-quality runs: every run's metrics, per table and ruleset, in the catalog.

Dynamic rules (``RowCount > avg(last(10)) * 0.9``) and ``DetectAnomalies`` compare a run's
metric with the same metric in the table's earlier runs, as Glue Data Quality keeps them. The
evaluator records each finished run with :func:`record_run` (its score and every
``EvaluatedMetrics`` entry, under Glue's names such as ``Dataset.*.RowCount`` or
``Column.temperature.Mean``) and reads a metric's past with :func:`metric_history` *before*
recording the run it is evaluating, so the history holds earlier runs only.

Order: :func:`metric_history` and :func:`list_runs` give the most recent run first, the order
of Glue's ``last(k)``: ``index(last(k), 0)`` is the latest earlier value, so
``metric_history(...)[i]`` is what ``index(last(k), i)`` picks. Runs are ordered by their start
time, then by the order they were recorded in.

Storage: two tables in the catalog's SQLite file (``<state>/catalog.db``), created on first
use: ``dq_runs`` (one row a run) and ``dq_metrics`` (one row a metric of a run). The catalog
keeps no schema version; these tables are only ever created with ``IF NOT EXISTS``, so a
catalog written before them opens unchanged. As the catalog does, a write is one
``BEGIN IMMEDIATE`` transaction in WAL mode: several processes may record runs at once, and
a run's metrics are stored with it or not at all. Reads open the file read-only and create
nothing; with no file, or no run recorded yet, the history is empty.

Table names match without regard to case, as the catalog's do. A metric value that is not a
finite number (NaN where a column was empty) is not stored: it is no point of a history.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tidebox.core.errors import QualityHistoryError
from tidebox.core.settings import Settings
from tidebox.lake.catalog import catalog_path
from tidebox.lake.catalog_store import BUSY_TIMEOUT

_SCHEMA = """
CREATE TABLE IF NOT EXISTS dq_runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  table_name TEXT NOT NULL COLLATE NOCASE,
  ruleset TEXT NOT NULL,
  started REAL NOT NULL,
  completed REAL NOT NULL,
  score REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS dq_runs_by_table ON dq_runs (table_name, ruleset, started);
CREATE TABLE IF NOT EXISTS dq_metrics (
  run_id INTEGER NOT NULL REFERENCES dq_runs (id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  value REAL NOT NULL,
  PRIMARY KEY (run_id, name)
);
"""


@dataclass(frozen=True)
class RunRecord:
    """One recorded run: what was checked, when, its score and its metrics."""

    id: int
    table: str
    ruleset: str
    started: datetime  # UTC
    completed: datetime  # UTC
    score: float
    metrics: dict[str, float] = field(default_factory=dict)


def record_run(
    settings: Settings,
    table: str,
    ruleset: str,
    started: datetime,
    completed: datetime,
    score: float,
    metrics: Mapping[str, float],
) -> int:
    """Store a finished run and its metrics in one transaction; the run's id.

    A naive ``started``/``completed`` is taken as local time (``datetime.timestamp``'s rule)."""
    if not 0.0 <= score <= 1.0:
        raise QualityHistoryError(f"a run's score is between 0 and 1, got {score!r}")
    kept = [(name, float(value)) for name, value in metrics.items() if _finite(value)]
    with _writing(catalog_path(settings)) as db:
        cursor = db.execute(
            "INSERT INTO dq_runs (table_name, ruleset, started, completed, score) "
            "VALUES (?, ?, ?, ?, ?)",
            (table, ruleset, started.timestamp(), completed.timestamp(), float(score)),
        )
        run_id = cursor.lastrowid
        if run_id is None:  # pragma: no cover - sqlite3 always sets it after an INSERT
            raise QualityHistoryError(f"run of {ruleset} on {table} was not stored")
        db.executemany(
            "INSERT INTO dq_metrics (run_id, name, value) VALUES (?, ?, ?)",
            [(run_id, name, value) for name, value in kept],
        )
    return run_id


def metric_history(
    settings: Settings,
    table: str,
    metric: str,
    ruleset: str | None = None,
    last: int | None = None,
) -> list[float]:
    """The metric's values in the table's recorded runs, most recent first.

    ``ruleset`` keeps the runs of that ruleset only (None: every ruleset's runs of the table);
    ``last`` keeps the latest ``last`` values, as ``last(k)`` does. Runs that did not report
    the metric are skipped, so ``last=k`` gives the latest k runs that have it."""
    _check_count(last)
    sql = (
        "SELECT m.value FROM dq_metrics m JOIN dq_runs r ON r.id = m.run_id "
        "WHERE r.table_name = ? AND m.name = ?"
    )
    args: list[object] = [table, metric]
    if ruleset is not None:
        sql += " AND r.ruleset = ?"
        args.append(ruleset)
    sql += " ORDER BY r.started DESC, r.id DESC"
    if last is not None:
        sql += " LIMIT ?"
        args.append(last)
    return [float(row[0]) for row in _read(catalog_path(settings), sql, args)]


def list_runs(
    settings: Settings, table: str, ruleset: str | None = None, last: int | None = None
) -> list[RunRecord]:
    """The table's recorded runs (of ``ruleset`` only, when given), most recent first, with
    their metrics; ``last`` keeps the latest ones."""
    _check_count(last)
    sql = (
        "SELECT id, table_name, ruleset, started, completed, score FROM dq_runs "
        "WHERE table_name = ?"
    )
    args: list[object] = [table]
    if ruleset is not None:
        sql += " AND ruleset = ?"
        args.append(ruleset)
    sql += " ORDER BY started DESC, id DESC"
    if last is not None:
        sql += " LIMIT ?"
        args.append(last)
    path = catalog_path(settings)
    runs = _read(path, sql, args)
    if not runs:
        return []
    ids = [row[0] for row in runs]
    marks = ", ".join("?" * len(ids))
    metrics: dict[int, dict[str, float]] = {run_id: {} for run_id in ids}
    for run_id, name, value in _read(
        path,
        f"SELECT run_id, name, value FROM dq_metrics WHERE run_id IN ({marks}) ORDER BY name",
        ids,
    ):
        metrics[run_id][name] = float(value)
    return [
        RunRecord(
            id=run_id,
            table=name,
            ruleset=ruleset_name,
            started=datetime.fromtimestamp(started, UTC),
            completed=datetime.fromtimestamp(completed, UTC),
            score=score,
            metrics=metrics[run_id],
        )
        for run_id, name, ruleset_name, started, completed, score in runs
    ]


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_count(last: int | None) -> None:
    if last is not None and (isinstance(last, bool) or not isinstance(last, int) or last < 1):
        raise QualityHistoryError(f"last must be a positive whole number, got {last!r}")


@contextmanager
def _writing(path: Path) -> Iterator[sqlite3.Connection]:
    """One write transaction on the catalog file, its history tables created if need be."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None)) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA foreign_keys=ON")
        db.executescript(_SCHEMA)
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")


def _read(path: Path, sql: str, args: list[object]) -> list[tuple[Any, ...]]:
    """Rows of a query on the catalog file opened read-only; none when there is no file or
    no run was ever recorded in it."""
    if not path.exists():
        return []
    uri = f"{path.resolve().as_uri()}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT)) as db:
        try:
            return db.execute(sql, args).fetchall()
        except sqlite3.OperationalError as error:
            if "no such table" in str(error):
                return []
            raise
