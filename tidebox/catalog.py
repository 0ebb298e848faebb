"""The catalog of landed tables: every stream landed under the bucket is a table of its name.

Minimal for now (a later issue brings a Glue-like persistent catalog): a table is a folder
``<bucket>/<name>/`` that holds Parquet files, with Hive-style ``key=value`` folders below it
as partition columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sinks.parquet import ERRORS_FOLDER
from tidebox.config import Settings
from tidebox.errors import TableNotFoundError


@dataclass(frozen=True)
class LandedTable:
    name: str
    location: Path
    paths: tuple[Path, ...]
    bytes: int

    @property
    def files(self) -> int:
        return len(self.paths)


def _is_visible(path: Path) -> bool:
    """Temporary files (hidden, written aside before a rename) are never part of a table."""
    return not path.name.startswith(".")


def list_tables(settings: Settings) -> list[LandedTable]:
    bucket = settings.bucket_path
    if not bucket.is_dir():
        return []
    tables = []
    for folder in sorted(p for p in bucket.iterdir() if p.is_dir()):
        if folder.name.startswith((".", "_")) or folder.name == ERRORS_FOLDER:
            continue
        files = sorted(f.resolve() for f in folder.rglob("*.parquet") if _is_visible(f))
        if files:
            size = sum(f.stat().st_size for f in files)
            tables.append(LandedTable(folder.name, folder.resolve(), tuple(files), size))
    return tables


def find_table(settings: Settings, name: str) -> LandedTable:
    tables = list_tables(settings)
    for table in tables:
        if table.name == name:
            return table
    raise TableNotFoundError(name, [t.name for t in tables])
