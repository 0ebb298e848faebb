"""A Glue-like data catalog: tables (location, format, columns, partition keys) and partitions.

Tables come from ``tidebox.yaml`` (``tables:``), from delivery streams (each registers the
table it writes when it runs, and the partitions as it delivers them), from the crawler
(``tidebox catalog crawl``) and from CTAS. The catalog lives in one SQLite file under the state
folder; SQLite's locking lets several tidebox processes use it at once.

As in Athena, a partitioned table shows only the partitions the catalog knows:
``catalog repair`` (``MSCK REPAIR TABLE``) adds the ones that appeared since. Column types are
Glue's (Hive's) names: ``string``, ``bigint``, ``double``, ``timestamp``...
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tidebox.core.errors import TableNotFoundError, TideboxError
from tidebox.core.settings import Settings, TableSpec

FORMATS = ("parquet", "json", "csv")
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
_HIVE_SEGMENT = re.compile(r"^([^=/]+)=([^/]*)$")


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
    """The catalog file: tables and their registered partitions."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None)
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


# -- opening, with the tables the config declares --------------------------------------------------
def catalog_path(settings: Settings) -> Path:
    return settings.state_dir / "catalog.db"


def open_catalog(settings: Settings) -> Catalog:
    """The catalog, with the tables of ``tidebox.yaml`` registered (and their partitions
    found the first time)."""
    catalog = Catalog(catalog_path(settings))
    for spec in settings.tables:
        table = config_table(spec)
        if catalog.put(table) and table.partition_keys:
            # a location that cannot be listed now: 'catalog repair' finds its partitions later
            with contextlib.suppress(TideboxError):
                discover_partitions(settings, catalog, table)
    return catalog


@contextmanager
def using_catalog(settings: Settings, declared: bool = True) -> Iterator[Catalog]:
    """The catalog for the length of a ``with`` block; ``declared=False`` skips registering
    the config's tables, for a writer that has done so already (a delivery, every flush)."""
    catalog = open_catalog(settings) if declared else Catalog(catalog_path(settings))
    try:
        yield catalog
    finally:
        catalog.close()


def config_table(spec: TableSpec) -> CatalogTable:
    fmt = spec.format or _format_of(spec.location)
    columns = tuple((n, glue_type(t)) for n, t in spec.columns.items())
    keys = tuple((n, glue_type(t)) for n, t in spec.partition_keys.items())
    return CatalogTable(spec.name, spec.location, fmt, columns, keys, "config")


def _format_of(location: str) -> str:
    lowered = location.lower().rstrip("/")
    if lowered.endswith((".csv", ".csv.gz", ".tsv")):
        return "csv"
    if lowered.endswith((".json", ".jsonl", ".ndjson", ".json.gz")):
        return "json"
    return "parquet"


# -- files and partitions --------------------------------------------------------------------------
@dataclass(frozen=True)
class TableFile:
    key: str  # path or s3:// URI
    size: int
    partition: str  # "k=v/k2=v2", or "" for an unpartitioned table


def list_files(
    settings: Settings, table: CatalogTable, registered: Collection[str] | None = None
) -> list[TableFile]:
    """The table's data files: for a partitioned table, those of the ``registered``
    partitions (every partition found when None). Hidden (``.``) and ``_`` files and folders
    are never data, as in Athena."""
    from tidebox.core.stores import open_store

    location = table.location
    if _is_glob(location):
        return _glob(location)
    if "://" not in location and Path(location).is_file():
        return [TableFile(str(Path(location).resolve()), Path(location).stat().st_size, "")]
    store = open_store(location, settings.s3_endpoint)
    known = set(registered) if registered is not None else None
    found = []
    for key, size in store.list():
        parts = key.split("/")
        if any(p.startswith((".", "_")) for p in parts):
            continue
        spec = "/".join(parts[: len(table.partition_keys)])
        if table.partition_keys:
            if not _is_partition(spec, table.partition_names, len(parts)):
                continue
            if known is not None and spec not in known:
                continue
        found.append(TableFile(store.uri(key), size, spec if table.partition_keys else ""))
    return found


def _is_partition(spec: str, names: list[str], depth: int) -> bool:
    segments = spec.split("/")
    if depth <= len(names) or len(segments) != len(names):
        return False
    for segment, name in zip(segments, names, strict=True):
        match = _HIVE_SEGMENT.match(segment)
        if match is None or match.group(1) != name:
            return False
    return True


def _is_glob(location: str) -> bool:
    return "://" not in location and any(c in location for c in "*?[")


def _glob(location: str) -> list[TableFile]:
    path = Path(location)
    anchor = Path(path.anchor or ".")
    found = sorted(anchor.glob(str(path.relative_to(anchor))))
    return [
        TableFile(str(f.resolve()), f.stat().st_size, "")
        for f in found
        if f.is_file() and not f.name.startswith((".", "_"))
    ]


def discover_partitions(settings: Settings, catalog: Catalog, table: CatalogTable) -> int:
    """``MSCK REPAIR TABLE``: register every Hive-style partition found under the location;
    return how many were new."""
    if not table.partition_keys:
        return 0
    specs = sorted({f.partition for f in list_files(settings, table)})
    return catalog.add_partitions(table.name, specs)


# -- types -----------------------------------------------------------------------------------------
_GLUE_TYPES = {
    "STRING": "string",
    "VARCHAR": "string",
    "CHAR": "string",
    "TEXT": "string",
    "DOUBLE": "double",
    "FLOAT": "float",
    "REAL": "float",
    "BIGINT": "bigint",
    "INT": "int",
    "INTEGER": "int",
    "SMALLINT": "smallint",
    "TINYINT": "tinyint",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "HUGEINT": "decimal(38,0)",
    "UBIGINT": "decimal(20,0)",
    "UINTEGER": "bigint",
    "USMALLINT": "int",
    "UTINYINT": "smallint",
    "BLOB": "binary",
}


def glue_type(sql_type: str) -> str:
    """The Glue type of a Flink SQL, DuckDB or Glue type name."""
    text = sql_type.strip()
    upper = text.upper()
    if upper.startswith("TIMESTAMP"):
        return "timestamp"
    if upper.startswith("DECIMAL"):
        return text.lower().replace(" ", "")
    if upper.endswith("[]"):
        return f"array<{glue_type(text[:-2])}>"
    base = upper.split("(")[0].strip()
    return _GLUE_TYPES.get(base, text.lower())


def arrow_glue_type(kind: Any) -> str:
    """The Glue type of an Arrow type (a query's result column)."""
    import pyarrow as pa

    if pa.types.is_timestamp(kind):
        return "timestamp"
    if pa.types.is_decimal(kind):
        return f"decimal({kind.precision},{kind.scale})"
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return f"array<{arrow_glue_type(kind.value_type)}>"
    named = {
        "int8": "tinyint",
        "int16": "smallint",
        "int32": "int",
        "int64": "bigint",
        "uint8": "smallint",
        "uint16": "int",
        "uint32": "bigint",
        "uint64": "decimal(20,0)",
        "float": "float",
        "double": "double",
        "bool": "boolean",
        "date32[day]": "date",
        "string": "string",
        "large_string": "string",
        "binary": "binary",
    }
    return named.get(str(kind), "string")


_DUCKDB_TYPES = {
    "string": "VARCHAR",
    "double": "DOUBLE",
    "float": "FLOAT",
    "bigint": "BIGINT",
    "int": "INTEGER",
    "smallint": "SMALLINT",
    "tinyint": "TINYINT",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP WITH TIME ZONE",
    "binary": "BLOB",
}


def duckdb_type(glue: str) -> str:
    """The DuckDB type a Glue type is read as."""
    if glue.startswith("decimal"):
        return glue.upper()
    if glue.startswith("array<") and glue.endswith(">"):
        return f"{duckdb_type(glue[6:-1])}[]"
    return _DUCKDB_TYPES.get(glue, "VARCHAR")


# -- what the catalog commands call ----------------------------------------------------------------
@dataclass(frozen=True)
class TableDescription:
    table: CatalogTable
    partitions: list[str]
    files: int
    bytes: int
    rows: int | None


def list_tables(settings: Settings) -> list[CatalogTable]:
    with using_catalog(settings) as catalog:
        return catalog.tables()


def find_table(settings: Settings, name: str) -> CatalogTable:
    with using_catalog(settings) as catalog:
        return catalog.table(name)


def describe_table(settings: Settings, name: str) -> TableDescription:
    """The table, its registered partitions, and the files, bytes and rows they hold."""
    with using_catalog(settings) as catalog:
        table = catalog.table(name)
        partitions = catalog.partitions(table.name)
    files = list_files(settings, table, partitions)
    return TableDescription(
        table, partitions, len(files), sum(f.size for f in files), _rows(settings, table, files)
    )


def _rows(settings: Settings, table: CatalogTable, files: list[TableFile]) -> int | None:
    """Rows from the Parquet footers (no data read); counted by DuckDB for text formats."""
    if not files:
        return 0
    if table.format == "parquet":
        import pyarrow.parquet as pq
        from pyarrow import fs

        total = 0
        s3 = None
        for f in files:
            if f.key.startswith("s3://"):
                if s3 is None:
                    from tidebox.core.stores import s3_filesystem

                    s3 = s3_filesystem(settings.s3_endpoint)
                with s3.open_input_file(f.key[5:]) as handle:
                    total += pq.ParquetFile(handle).metadata.num_rows
            else:
                total += pq.read_metadata(f.key, filesystem=fs.LocalFileSystem()).num_rows
        return total
    from tidebox.lake.query import run_query

    return int(run_query(settings, f'SELECT count(*) AS n FROM "{table.name}"').table[0][0].as_py())


def repair_table(settings: Settings, name: str) -> int:
    """``MSCK REPAIR TABLE``: how many new partitions were registered."""
    with using_catalog(settings) as catalog:
        return discover_partitions(settings, catalog, catalog.table(name))


def drop_table(settings: Settings, name: str) -> CatalogTable:
    """Forget a table (its files stay, as Athena's DROP TABLE of an external table)."""
    with using_catalog(settings) as catalog:
        table = catalog.table(name)
        if table.source == "config":
            raise TideboxError(
                f"table {table.name} is declared in tidebox.yaml: remove it there to drop it"
            )
        return catalog.drop(table.name)
