"""The catalog of landed tables: every stream landed under the bucket is a table of its name.

Minimal for now (a later issue brings a Glue-like persistent catalog): a table is a folder
``<bucket>/<name>/`` that holds Parquet files, with Hive-style ``key=value`` folders below it
as partition columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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


def _table(name: str, location: Path, files: list[Path]) -> LandedTable:
    paths = tuple(sorted(f.resolve() for f in files if _is_visible(f)))
    return LandedTable(name, location.resolve(), paths, sum(f.stat().st_size for f in paths))


def _declared(settings: Settings) -> list[LandedTable]:
    """Tables declared in tidebox.yaml: a folder (every Parquet file below it) or a glob."""
    tables = []
    for spec in settings.tables:
        location = Path(spec.location)
        if location.is_dir():
            files = list(location.rglob("*.parquet"))
        else:
            anchor = Path(location.anchor or ".")
            found = anchor.glob(str(location.relative_to(anchor)))
            files = [f for f in found if f.is_file() and f.suffix == ".parquet"]
            location = location.parent
        tables.append(_table(spec.name, location, files))
    return tables


def list_tables(settings: Settings) -> list[LandedTable]:
    """Landed streams (folders of the bucket holding Parquet) and declared tables, by name."""
    bucket = settings.bucket_path
    tables = {t.name: t for t in _declared(settings) if t.paths}
    if bucket.is_dir():
        for folder in sorted(p for p in bucket.iterdir() if p.is_dir()):
            if folder.name.startswith((".", "_")):  # _errors, _tidebox: not tables
                continue
            landed = _table(folder.name, folder, list(folder.rglob("*.parquet")))
            if landed.paths:
                tables.setdefault(landed.name, landed)
    return [tables[name] for name in sorted(tables)]


def find_table(settings: Settings, name: str) -> LandedTable:
    tables = list_tables(settings)
    for table in tables:
        if table.name == name:
            return table
    raise TableNotFoundError(name, [t.name for t in tables])
