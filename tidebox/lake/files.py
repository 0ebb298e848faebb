"""A table's files and partitions, as Athena finds them under the table's location.

A location is a folder, a file, a glob or an ``s3://`` prefix. Hidden (``.``) and ``_`` files
and folders are never data; a partitioned table's files are those under Hive-style
``k=v/...`` folders of its partition keys.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from tidebox.core.settings import Settings
from tidebox.lake.catalog_store import CatalogTable

_HIVE_SEGMENT = re.compile(r"^([^=/]+)=([^/]*)$")


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


def found_partitions(settings: Settings, table: CatalogTable) -> list[str]:
    """The Hive-style partitions (``k=v/...``) found under the table's location now, sorted;
    none for an unpartitioned table. What ``MSCK REPAIR TABLE`` would register."""
    if not table.partition_keys:
        return []
    return sorted({f.partition for f in list_files(settings, table)})
