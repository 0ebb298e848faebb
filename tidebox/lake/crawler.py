"""The crawler (Glue's): infer a table from the files under a prefix, and register it.

It finds the format (by extension, else by the first bytes), the Hive-style partition keys
(``k=v`` folders every file shares, in the same order), and the columns and their types
(DuckDB reads a sample of the files). Partition keys are ``string``, as Glue's crawler makes
them; the partitions found are registered with the table.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from tidebox.core.errors import TideboxError
from tidebox.core.settings import Settings
from tidebox.lake.catalog import using_catalog
from tidebox.lake.catalog_store import CatalogTable
from tidebox.lake.files import TableFile
from tidebox.lake.glue_types import glue_type

SAMPLE_FILES = 50
_HIVE = re.compile(r"^([^=/]+)=([^/]*)$")


class CrawlError(TideboxError):
    """The prefix holds nothing a table can be made of."""


def resolve_location(settings: Settings, prefix: str) -> str:
    """An s3:// URI as is; a relative folder is under the bucket."""
    if prefix.startswith("s3://"):
        return prefix.rstrip("/") + "/"
    path = Path(prefix)
    if not path.is_absolute() and not path.exists():
        path = settings.bucket_path / path
    return str(path.resolve()) + "/"


def crawl(
    settings: Settings, prefix: str, name: str, fmt: str | None = None
) -> tuple[CatalogTable, int]:
    """Infer and register table ``name`` from the files under ``prefix``; return it and the
    number of partitions registered."""
    from tidebox.core.stores import open_store

    location = resolve_location(settings, prefix)
    store = open_store(location, settings.s3_endpoint)
    listed = [
        (key, size)
        for key, size in store.list()
        if not any(part.startswith((".", "_")) for part in key.split("/"))
    ]
    if not listed:
        raise CrawlError(f"nothing to crawl at {location} (empty or missing prefix)")
    fmt = fmt or _format(store, [k for k, _ in listed])
    keys = _partition_keys([k for k, _ in listed])
    files = [
        TableFile(store.uri(k), s, "/".join(k.split("/")[: len(keys)]) if keys else "")
        for k, s in listed
    ]
    columns, differ = _columns(settings, files, fmt, keys)
    table = CatalogTable(
        name=name,
        location=location,
        format=fmt,
        columns=tuple(columns),
        partition_keys=tuple((k, "string") for k in keys),
        source="crawler",
        parameters={"union_by_name": True} if differ else {},
    )
    with using_catalog(settings) as catalog:
        catalog.put(table)
        added = catalog.add_partitions(name, sorted({f.partition for f in files if f.partition}))
    return table, added


def _format(store: object, keys: list[str]) -> str:
    votes: Counter[str] = Counter()
    for key in keys:
        lowered = key.lower()
        if lowered.endswith(".parquet"):
            votes["parquet"] += 1
        elif lowered.endswith((".json", ".jsonl", ".ndjson", ".json.gz")):
            votes["json"] += 1
        elif lowered.endswith((".csv", ".csv.gz", ".tsv")):
            votes["csv"] += 1
    if votes:
        return votes.most_common(1)[0][0]
    head = (store.get(keys[0]) or b"")[:4]  # type: ignore[attr-defined]
    if head == b"PAR1":
        return "parquet"
    return "json" if head.lstrip()[:1] in (b"{", b"[") else "csv"


def _partition_keys(keys: list[str]) -> list[str]:
    """The leading ``k=v`` folder names that every file has, in the same order."""
    common: list[str] | None = None
    for key in keys:
        names = []
        for segment in key.split("/")[:-1]:
            match = _HIVE.match(segment)
            if match is None:
                break
            names.append(match.group(1))
        if common is None:
            common = names
        else:
            length = 0
            while length < min(len(common), len(names)) and common[length] == names[length]:
                length += 1
            common = common[:length]
    return common or []


def _columns(
    settings: Settings, files: list[TableFile], fmt: str, keys: list[str]
) -> tuple[list[tuple[str, str]], bool]:
    """Column names and Glue types from a sample of the files; whether their schemas differ."""
    import duckdb

    from tidebox.lake.scan import Scanner
    from tidebox.lake.sql import literal

    sample = files[:: max(1, len(files) // SAMPLE_FILES)][:SAMPLE_FILES]
    scanner = Scanner(settings.s3_endpoint)
    con = duckdb.connect()
    try:
        scanner.register(con, with_s3=any(f.key.startswith("s3://") for f in sample))
        listing = ", ".join(literal(scanner.uri(f.key)) for f in sample)
        options = "union_by_name = true, hive_partitioning = false"
        reader = {
            "parquet": f"read_parquet([{listing}], {options})",
            "json": f"read_json([{listing}], format = 'newline_delimited', {options})",
            "csv": f"read_csv([{listing}], {options})",
        }[fmt]
        described = con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
        differ = False
        if fmt == "parquet" and len(sample) > 1:
            shapes = set()
            for f in sample:
                single = f"read_parquet({literal(scanner.uri(f.key))}, hive_partitioning = false)"
                shapes.add(tuple(con.execute(f"DESCRIBE SELECT * FROM {single}").fetchall()))
            differ = len(shapes) > 1
    except duckdb.Error as exc:
        raise CrawlError(f"cannot read the files as {fmt}: {str(exc).splitlines()[0]}") from exc
    finally:
        con.close()
    columns = [(row[0], glue_type(row[1])) for row in described if row[0] not in keys]
    return columns, differ
