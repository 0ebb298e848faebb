"""The catalog as ``tidebox.yaml`` declares it: opened to change it, or only to read it.

Tables come from ``tidebox.yaml`` (``tables:``), from delivery streams (each registers the
table it writes when it runs, and the partitions as it delivers them), from the crawler
(``tidebox catalog crawl``) and from CTAS. The catalog lives in one SQLite file under the state
folder (:mod:`tidebox.lake.catalog_store`).

A writer registers the config's tables (and finds their partitions the first time). A reader
(a query, ``catalog show``, ``catalog list``) writes nothing, not even an empty catalog file: a
config table that is not yet registered as declared is merged in memory. Until a writer
registers such a table, reads see its partitions as found at read time: listed under its
location when a read first asks for that table's partitions (never for tables the read does
not touch), and kept for the rest of that read.

As in Athena, a partitioned table shows only the partitions the catalog knows:
``catalog repair`` (``MSCK REPAIR TABLE``) adds the ones that appeared since.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tidebox.core.errors import TideboxError
from tidebox.core.settings import Settings, TableSpec
from tidebox.lake.catalog_store import Catalog, CatalogTable, ReadOnlyCatalog
from tidebox.lake.files import found_partitions
from tidebox.lake.glue_types import glue_type


def catalog_path(settings: Settings) -> Path:
    return settings.state_dir / "catalog.db"


def open_catalog(settings: Settings) -> Catalog:
    """The catalog to change, with the tables of ``tidebox.yaml`` registered (and their
    partitions found the first time)."""
    catalog = Catalog(catalog_path(settings))
    for spec in settings.tables:
        table = config_table(spec)
        if catalog.put(table) and table.partition_keys:
            # a location that cannot be listed now: 'catalog repair' finds its partitions later
            with contextlib.suppress(TideboxError):
                discover_partitions(settings, catalog, table)
    return catalog


def open_reader(settings: Settings) -> ReadOnlyCatalog:
    """The catalog to read, taking no write lock and creating nothing: the config's tables
    that are not registered as declared are merged in memory, their partitions found under
    their locations when a read first asks for them."""
    catalog = ReadOnlyCatalog(catalog_path(settings), lambda table: _found_now(settings, table))
    try:
        for spec in settings.tables:
            catalog.declare(config_table(spec))
    except BaseException:
        catalog.close()
        raise
    return catalog


def _found_now(settings: Settings, table: CatalogTable) -> list[str]:
    try:
        return found_partitions(settings, table)
    except TideboxError:
        return []  # a location that cannot be listed now, as a writer would leave it


def discover_partitions(settings: Settings, catalog: Catalog, table: CatalogTable) -> int:
    """``MSCK REPAIR TABLE``: register every Hive-style partition found under the location;
    return how many were new."""
    if not table.partition_keys:
        return 0
    return catalog.add_partitions(table.name, found_partitions(settings, table))


@contextmanager
def using_catalog(settings: Settings, declared: bool = True) -> Iterator[Catalog]:
    """The catalog to change, for the length of a ``with`` block; ``declared=False`` skips
    registering the config's tables, for a writer that has done so already (a delivery, every
    flush)."""
    catalog = open_catalog(settings) if declared else Catalog(catalog_path(settings))
    try:
        yield catalog
    finally:
        catalog.close()


@contextmanager
def reading_catalog(settings: Settings) -> Iterator[ReadOnlyCatalog]:
    """The catalog to read, for the length of a ``with`` block."""
    catalog = open_reader(settings)
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
