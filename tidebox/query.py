"""SQL over landed Parquet with DuckDB: every landed table is a view of the same name."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from tidebox.catalog import list_tables
from tidebox.config import Settings, load_settings
from tidebox.errors import QueryError, TableNotFoundError


@dataclass(frozen=True)
class QueryResult:
    table: pa.Table
    seconds: float

    @property
    def rows(self) -> int:
        return self.table.num_rows


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def connect(settings: Settings) -> tuple[duckdb.DuckDBPyConnection, dict[str, str]]:
    """An in-memory DuckDB connection with a view per landed table.

    The views read the catalog's file list (never temporary files). A table whose files
    DuckDB cannot read gets no view: its problem is returned by name, so that queries on the
    other tables still run.
    """
    con = duckdb.connect()
    unreadable: dict[str, str] = {}
    for table in list_tables(settings):
        files = ", ".join(_literal(str(p)) for p in table.paths)
        name = table.name.replace('"', '""')
        try:
            con.execute(
                f'CREATE VIEW "{name}" AS SELECT * FROM read_parquet('
                f"[{files}], hive_partitioning = true, union_by_name = true)"
            )
        except duckdb.Error as exc:
            unreadable[table.name] = _first_line(exc)
    return con, unreadable


def run_query(settings: Settings, sql: str) -> QueryResult:
    """Run one SQL statement over the landed tables and return its rows as Arrow."""
    if not sql.strip():
        raise QueryError("empty query")
    con, unreadable = connect(settings)
    started = time.monotonic()
    try:
        table = con.execute(sql).fetch_arrow_table()
    except duckdb.CatalogException as exc:
        missing = re.search(r'Table with name "?(.+?)"? does not exist', str(exc))
        if missing and missing.group(1) in unreadable:
            name = missing.group(1)
            raise QueryError(f"table '{name}' cannot be read: {unreadable[name]}") from exc
        if missing:
            known = [t.name for t in list_tables(settings)]
            raise TableNotFoundError(missing.group(1), known) from exc
        raise QueryError(_first_line(exc)) from exc
    except duckdb.Error as exc:
        raise QueryError(_first_line(exc)) from exc
    finally:
        con.close()
    return QueryResult(table, time.monotonic() - started)


def _first_line(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return " ".join(lines[:2]) if lines else type(exc).__name__


def query(sql: str, **overrides: Any) -> pa.Table:
    """``tidebox.query(sql)``: the Python entry point, with settings from the usual sources."""
    return run_query(load_settings(overrides), sql).table
