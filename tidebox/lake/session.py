"""A query session: one DuckDB connection, the catalog's tables as views, scans counted.

Every catalog table a statement names becomes a view over the table's files, those of its
registered partitions only; partition keys are columns, and filters on them prune files.
Files are read through a counting filesystem (:mod:`tidebox.lake.scan`), so a session knows
the bytes and files its statements actually read.
"""

from __future__ import annotations

import re
from typing import Any

import pyarrow as pa

from tidebox.core.errors import QueryError, TableNotFoundError, TideboxError
from tidebox.core.settings import Settings
from tidebox.lake.catalog_store import Catalog, CatalogTable
from tidebox.lake.files import TableFile, list_files
from tidebox.lake.glue_types import duckdb_type
from tidebox.lake.sql import first_line, literal, quote


class EmptyTableError(TideboxError):
    """A query names a table with no data files: an empty or missing prefix."""

    def __init__(self, name: str, location: str, partitioned: bool) -> None:
        hint = (
            f"; no registered partition holds files (tidebox catalog repair {name})"
            if partitioned
            else ""
        )
        super().__init__(
            f"table '{name}' has no data at {location} (empty or missing prefix){hint}"
        )
        self.name = name
        self.location = location


class Session:
    """One DuckDB connection with the catalog's tables as views, reading through the counter."""

    def __init__(self, settings: Settings, catalog: Catalog) -> None:
        import duckdb

        from tidebox.lake.scan import Scanner

        self.settings = settings
        self.catalog = catalog
        self.con = duckdb.connect()
        self.con.execute("SET enable_external_file_cache = false")  # count every read
        self.con.execute("SET enable_profiling = 'no_output'")  # for the files each scan read
        self.files_scanned = 0
        self.scanner = Scanner(settings.s3_endpoint)
        self._s3 = False
        self.scanner.register(self.con, with_s3=False)
        self._views: set[str] = set()
        self.table_files: dict[str, list[TableFile]] = {}
        """The files each view reads, by table name."""

    def close(self) -> None:
        self.con.close()

    def prepare(self, sql: str) -> None:
        """Create a view for every catalog table ``sql`` names."""
        for table in referenced_tables(sql, self.catalog.tables()):
            if table.name not in self._views:
                self.add_view(table)

    def add_view(self, table: CatalogTable) -> None:
        files = list_files(self.settings, table, self.catalog.partitions(table.name))
        if not files:
            raise EmptyTableError(table.name, table.location, bool(table.partition_keys))
        if any(f.key.startswith("s3://") for f in files) and not self._s3:
            self.scanner.register(self.con, with_s3=True)
            self._s3 = True
        view = scan_sql(table, files, self.scanner)
        self.con.execute(f"CREATE OR REPLACE VIEW {quote(table.name)} AS {view}")
        self._views.add(table.name)
        self.table_files[table.name] = files

    def execute(self, sql: str) -> pa.Table:
        import duckdb

        self.scanner.start()
        try:
            table = self.con.execute(sql).fetch_arrow_table()
            self.scanner.stop()
            self.files_scanned += _files_read(self.con.get_profiling_information(format="json"))
            return table
        except duckdb.CatalogException as exc:
            missing = re.search(r'Table with name "?([^"\s!]+)"? does not exist', str(exc))
            if missing:
                known = [t.name for t in self.catalog.tables()]
                raise TableNotFoundError(missing.group(1), known) from exc
            raise QueryError(first_line(exc)) from exc
        except duckdb.BinderException as exc:
            column = re.search(r'Referenced column "?([^"\s]+)"? not found', str(exc))
            if column:
                raise QueryError(f"unknown column '{column.group(1)}': {first_line(exc)}") from exc
            raise QueryError(first_line(exc)) from exc
        except duckdb.ParserException as exc:
            raise QueryError(f"syntax error: {first_line(exc)}") from exc
        except duckdb.Error as exc:
            raise QueryError(first_line(exc)) from exc
        finally:
            self.scanner.stop()


def _files_read(profile: str) -> int:
    """The files DuckDB's scans read (after pruning), from its profile of the last statement."""
    import json

    total = 0
    stack = [json.loads(profile)]
    while stack:
        node = stack.pop()
        info = node.get("extra_info") or {}
        if isinstance(info, dict) and "Total Files Read" in info:
            total += int(info["Total Files Read"])
        stack.extend(node.get("children", []))
    return total


def scan_sql(table: CatalogTable, files: list[Any], scanner: Any) -> str:
    """The SELECT that reads a table's files with its format, columns and partition keys."""
    listing = ", ".join(literal(scanner.uri(f.key)) for f in files)
    hive = ""
    if table.partition_keys:
        types = ", ".join(
            f"{literal(k)}: {literal(duckdb_type(t))}" for k, t in table.partition_keys
        )
        hive = f", hive_partitioning = true, hive_types = {{{types}}}"
    else:
        hive = ", hive_partitioning = false"
    columns = ""
    partition_names = set(table.partition_names)
    declared = [(n, t) for n, t in table.columns if n not in partition_names]
    if declared and table.format != "parquet":
        spec = ", ".join(f"{literal(n)}: {literal(duckdb_type(t))}" for n, t in declared)
        columns = f", columns = {{{spec}}}"
    if table.format == "json":
        return f"SELECT * FROM read_json([{listing}], format = 'newline_delimited'{columns}{hive})"
    if table.format == "csv":
        header = "true" if table.parameters.get("header", True) else "false"
        delimiter = literal(table.parameters.get("delimiter", ","))
        return (
            f"SELECT * FROM read_csv([{listing}], header = {header}, delim = {delimiter}"
            f"{columns}{hive})"
        )
    # union_by_name reads every file's footer before pruning: only for tables whose files may
    # differ (no declared columns, or a crawler that saw different schemas)
    union = "true" if table.parameters.get("union_by_name", not table.columns) else "false"
    return f"SELECT * FROM read_parquet([{listing}], union_by_name = {union}{hive})"


def referenced_tables(sql: str, tables: list[CatalogTable]) -> list[CatalogTable]:
    """The catalog tables whose names appear in ``sql`` as identifiers (quoted or not)."""
    words = {w.lower() for w in re.findall(r'"([^"]+)"', sql)}
    words |= {w.lower() for w in re.findall(r"[A-Za-z_][A-Za-z0-9_$.\-]*", sql)}
    words |= {w.rsplit(".", 1)[-1] for w in words if "." in w}
    return [t for t in tables if t.name.lower() in words]
