"""Athena-style SQL over the catalog's tables: run one statement, and what its result shows.

Each statement runs in its own query session (:mod:`tidebox.lake.session`), so each result
carries the bytes the statement actually read and what Athena would bill for them: $5 per TB,
each query rounded up to the next MB with a 10 MB minimum. ``CREATE TABLE ... WITH (...) AS
SELECT`` and ``UNLOAD (...) TO ... WITH (...)`` are Athena's (``tidebox.lake.ctas``). Only a
CTAS, which registers a table, opens the catalog to change it; every other statement reads it.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from tidebox.core.errors import QueryError
from tidebox.core.settings import Settings, load_settings
from tidebox.lake.catalog import open_catalog, open_reader
from tidebox.lake.catalog_store import Catalog
from tidebox.lake.session import Session

MB = 1 << 20
TB = 1 << 40
PRICE_PER_TB = 5.0
MINIMUM_BILLED = 10 * MB


@dataclass(frozen=True)
class QueryResult:
    """Rows and what Athena shows beside them."""

    table: pa.Table
    seconds: float
    bytes_scanned: int = 0
    files_scanned: int = 0
    query_id: str = ""
    statement: str = "SELECT"  # SELECT | CTAS | UNLOAD
    message: str = ""

    @property
    def rows(self) -> int:
        return self.table.num_rows

    @property
    def billed_bytes(self) -> int:
        return billed_bytes(self.bytes_scanned)

    @property
    def cost_usd(self) -> float:
        return self.billed_bytes / TB * PRICE_PER_TB


def billed_bytes(scanned: int) -> int:
    """Athena's billing: rounded up to the next megabyte, at least 10 MB per query."""
    return max(MINIMUM_BILLED, -(-scanned // MB) * MB)


def run_query(settings: Settings, sql: str) -> QueryResult:
    """Run one statement: a query, Athena's CTAS, or UNLOAD."""
    from tidebox.lake import ctas as athena

    text = sql.strip().rstrip(";").strip()
    if not text:
        raise QueryError("empty query")
    ctas = athena.parse_ctas(text)
    unload = athena.parse_unload(text) if ctas is None else None
    catalog: Catalog = open_catalog(settings) if ctas is not None else open_reader(settings)
    session = Session(settings, catalog)
    query_id = str(uuid.uuid4())
    started = time.monotonic()
    try:
        if ctas is not None:
            table, message = athena.create_table_as(session, ctas, query_id)
            statement = "CTAS"
        elif unload is not None:
            table, message = athena.unload(session, unload, query_id)
            statement = "UNLOAD"
        else:
            session.prepare(text)
            table, message, statement = session.execute(text), "", "SELECT"
        return QueryResult(
            table=table,
            seconds=time.monotonic() - started,
            bytes_scanned=session.scanner.bytes_read,
            files_scanned=session.files_scanned,
            query_id=query_id,
            statement=statement,
            message=message,
        )
    finally:
        session.close()
        catalog.close()


def query(sql: str, **overrides: Any) -> pa.Table:
    """``tidebox.query(sql)``: the Python entry point, with settings from the usual sources."""
    return run_query(load_settings(overrides), sql).table
