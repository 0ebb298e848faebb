"""The catalog's storage: one SQLite file of tables and their registered partitions, as Glue's.

SQLite's locking lets several tidebox processes use the file at once: every change is one
``BEGIN IMMEDIATE`` transaction, and the file is in WAL mode, so readers never wait for a
writer. A :class:`ReadOnlyCatalog` opens the file read-only (``mode=ro``): a query or
``catalog show`` takes no write lock, creates no file, and may see tables that exist only in
memory (those ``tidebox.yaml`` declares, before a writer registers them).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tidebox.core.errors import TableNotFoundError, TideboxError

FORMATS = ("parquet", "json", "csv")
BUSY_TIMEOUT = 30.0  # seconds a writer waits for another writer's transaction
_SCHEMA = """
CREATE TABLE IF NOT EXISTS tables (
  name TEXT PRIMARY KEY,
  location TEXT NOT NULL,
  format TEXT NOT NULL,
  columns TEXT NOT NULL,
  partition_keys TEXT NOT NULL,
  source TEXT NOT NULL,
  parameters TEXT NOT NULL DEFAULT '{}',
  updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS partitions (
  table_name TEXT NOT NULL,
  spec TEXT NOT NULL,
  added REAL NOT NULL,
  PRIMARY KEY (table_name, spec)
);
"""


@dataclass(frozen=True)
class CatalogTable:
    """A table: where its files are, how to read them, and its columns (Glue types)."""

    name: str
    location: str  # a folder, a file, a glob, or s3://bucket/prefix
    format: str = "parquet"
    columns: tuple[tuple[str, str], ...] = ()
    partition_keys: tuple[tuple[str, str], ...] = ()
    source: str = "crawler"  # config | delivery | crawler | ctas
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def partition_names(self) -> list[str]:
        return [k for k, _ in self.partition_keys]


class Catalog:
    """The catalog file, opened to read and change: tables and their registered partitions."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One transaction; BEGIN IMMEDIATE takes the write lock at once, so two processes
        never interleave their changes."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- tables ----------------------------------------------------------------------------------
    def tables(self) -> list[CatalogTable]:
        rows = self._db.execute("SELECT * FROM tables ORDER BY name").fetchall()
        return [_table(row) for row in rows]

    def table(self, name: str) -> CatalogTable:
        row = self._db.execute("SELECT * FROM tables WHERE name = ?", (name,)).fetchone()
        if row is None:
            row = self._db.execute(
                "SELECT * FROM tables WHERE lower(name) = lower(?)", (name,)
            ).fetchone()
        if row is None:
            raise TableNotFoundError(name, [t.name for t in self.tables()])
        return _table(row)

    def find(self, name: str) -> CatalogTable | None:
        try:
            return self.table(name)
        except TableNotFoundError:
            return None

    def put(self, table: CatalogTable) -> bool:
        """Register or replace ``table``; True when it is new or changed."""
        if table.format not in FORMATS:
            raise TideboxError(
                f"table {table.name}: format '{table.format}' is not one of {FORMATS}"
            )
        values = (
            table.name,
            table.location,
            table.format,
            json.dumps(table.columns),
            json.dumps(table.partition_keys),
            table.source,
            json.dumps(table.parameters, sort_keys=True),
        )
        with self._write() as db:
            old = db.execute(
                "SELECT name, location, format, columns, partition_keys, source, parameters "
                "FROM tables WHERE name = ?",
                (table.name,),
            ).fetchone()
            if old == values:
                return False
            if old is not None and (old[1], old[4]) != (values[1], values[4]):
                db.execute("DELETE FROM partitions WHERE table_name = ?", (table.name,))
            db.execute(
                "INSERT OR REPLACE INTO tables VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (*values, time.time()),
            )
        return True

    def drop(self, name: str) -> CatalogTable:
        table = self.table(name)
        with self._write() as db:
            db.execute("DELETE FROM tables WHERE name = ?", (table.name,))
            db.execute("DELETE FROM partitions WHERE table_name = ?", (table.name,))
        return table

    # -- partitions ------------------------------------------------------------------------------
    def partitions(self, name: str) -> list[str]:
        rows = self._db.execute(
            "SELECT spec FROM partitions WHERE table_name = ? ORDER BY spec", (name,)
        ).fetchall()
        return [r[0] for r in rows]

    def add_partitions(self, name: str, specs: list[str]) -> int:
        """Register partitions (``k=v/k2=v2``); how many were new."""
        now = time.time()
        with self._write() as db:
            before = db.total_changes
            db.executemany(
                "INSERT OR IGNORE INTO partitions VALUES (?, ?, ?)",
                [(name, spec, now) for spec in specs],
            )
            return db.total_changes - before


def _table(row: tuple[Any, ...]) -> CatalogTable:
    return CatalogTable(
        name=row[0],
        location=row[1],
        format=row[2],
        columns=tuple(tuple(c) for c in json.loads(row[3])),
        partition_keys=tuple(tuple(k) for k in json.loads(row[4])),
        source=row[5],
        parameters=json.loads(row[6]),
    )


class ReadOnlyCatalog(Catalog):
    """The catalog file opened read-only, with declared tables in memory over the stored ones
    of the same name (:meth:`declare`). It never takes a write lock, and never creates the
    file: with no file yet, it reads an empty catalog held in memory.

    A declared table's partitions are found by ``find_partitions`` when a read first asks for
    them, and kept for the reader's life: a read that never touches the table lists nothing.
    """

    def __init__(
        self, path: Path, find_partitions: Callable[[CatalogTable], list[str]] | None = None
    ) -> None:
        self.path = path
        if path.exists():
            self._db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        else:  # nothing registered yet: an empty catalog, and nothing written on disk
            self._db = sqlite3.connect(":memory:")
            self._db.executescript(_SCHEMA)
        self._find_partitions = find_partitions or (lambda table: [])
        self._declared: dict[str, CatalogTable] = {}
        self._found: dict[str, list[str]] = {}

    def declare(self, table: CatalogTable) -> None:
        """Show ``table`` over the stored one of its name, unless that is registered as
        declared already (its registered partitions then stand)."""
        try:
            stored: CatalogTable | None = Catalog.table(self, table.name)
        except TableNotFoundError:
            stored = None
        if stored != table:
            self._declared[table.name] = table

    def tables(self) -> list[CatalogTable]:
        stored = {t.name: t for t in super().tables()}
        stored.update(self._declared)
        return [stored[name] for name in sorted(stored)]

    def table(self, name: str) -> CatalogTable:
        tables = self.tables()
        found = next((t for t in tables if t.name == name), None)
        found = found or next((t for t in tables if t.name.lower() == name.lower()), None)
        if found is None:
            raise TableNotFoundError(name, [t.name for t in tables])
        return found

    def partitions(self, name: str) -> list[str]:
        if name in self._declared:
            if name not in self._found:
                self._found[name] = self._find_partitions(self._declared[name])
            return list(self._found[name])
        return super().partitions(name)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        raise TideboxError(f"{self.path}: the catalog was opened for reading only")
        yield self._db  # pragma: no cover
