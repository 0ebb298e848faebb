"""What the ``tidebox catalog`` commands do: list, describe, repair and drop tables.

Reads (list, describe) open the catalog read-only; repair and drop change it.
"""

from __future__ import annotations

from dataclasses import dataclass

from tidebox.core.errors import TideboxError
from tidebox.core.settings import Settings
from tidebox.lake.catalog import discover_partitions, reading_catalog, using_catalog
from tidebox.lake.catalog_store import CatalogTable
from tidebox.lake.files import TableFile, list_files
from tidebox.lake.sql import quote


@dataclass(frozen=True)
class TableDescription:
    """What ``catalog show`` prints of a table."""

    table: CatalogTable
    partitions: list[str]
    files: int
    bytes: int
    rows: int | None


def list_tables(settings: Settings) -> list[CatalogTable]:
    """The catalog's tables, by name."""
    with reading_catalog(settings) as catalog:
        return catalog.tables()


def find_table(settings: Settings, name: str) -> CatalogTable:
    """Table ``name`` (matched without regard to case, as Athena's)."""
    with reading_catalog(settings) as catalog:
        return catalog.table(name)


def describe_table(settings: Settings, name: str) -> TableDescription:
    """The table, its registered partitions, and the files, bytes and rows they hold."""
    with reading_catalog(settings) as catalog:
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

    return int(
        run_query(settings, f"SELECT count(*) AS n FROM {quote(table.name)}").table[0][0].as_py()
    )


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
