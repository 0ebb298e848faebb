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


def connect(settings: Settings) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with a view per landed table."""
    con = duckdb.connect()
    for table in list_tables(settings):
        con.execute(
            f'CREATE VIEW "{table.name}" AS SELECT * FROM read_parquet('
            f"'{table.glob}', hive_partitioning = true, union_by_name = true)"
        )
    return con


def run_query(settings: Settings, sql: str) -> QueryResult:
    """Run one SQL statement over the landed tables and return its rows as Arrow."""
    if not sql.strip():
        raise QueryError("empty query")
    con = connect(settings)
    started = time.monotonic()
    try:
        table = con.execute(sql).fetch_arrow_table()
    except duckdb.CatalogException as exc:
        missing = re.search(r"Table with name (\S+) does not exist", str(exc))
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
