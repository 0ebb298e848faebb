"""Bounded Flink tables over JSON Lines files: the harness's sources and sinks, and reference
data.

Reference data is Kinesis Analytics' name for a file joined with a stream (it read it from
S3). Here it is a table of ``tidebox.yaml`` with ``columns``, read from a CSV, JSON Lines or
Parquet file; tidebox rewrites it as JSON Lines, which Flink reads without extra jars.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeAlias

import pandas as pd

from tidebox.core.records import parse_times, read_records
from tidebox.core.settings import Settings, TableSpec
from tidebox.flink.ddl import columns_ddl, mentions
from tidebox.streams.encoding import encode_records, without_zone

Rows: TypeAlias = Iterable[Mapping[str, Any]] | pd.DataFrame | str | Path


def _frame(rows: Rows) -> pd.DataFrame:
    if isinstance(rows, pd.DataFrame):
        return rows.copy()
    if isinstance(rows, str | Path):
        return read_records(rows)
    return pd.DataFrame.from_records(list(rows))


def write_rows(
    name: str,
    rows: Rows,
    folder: Path,
    time_field: str | None = None,
    sort: bool = True,
    columns: Mapping[str, str] | None = None,
) -> Path:
    """The rows as JSON Lines in the form replay sends them (times in ISO-8601 UTC; without
    the ``Z`` in ``columns`` declared TIMESTAMP), in time order unless ``sort`` is false."""
    frame = _frame(rows)
    field = time_field if time_field and time_field in frame.columns else None
    if field:
        frame[field] = parse_times(frame, field, folder / name)
        if sort:
            frame = frame.sort_values(field, kind="stable")
    else:
        field = "__row_time"
        frame[field] = pd.Timestamp(0, tz="UTC")
    path = folder / name / "rows.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        for _, value, _ in encode_records(frame, field, None, without_zone(columns or {})):
            out.write(value + b"\n")
    return path


def file_table_ddl(
    name: str,
    columns: Mapping[str, str],
    path: Path,
    time_field: str | None = None,
    watermark_seconds: float = 0.0,
) -> str:
    """CREATE TABLE over the folder of ``path``, with a watermark on the time field if any."""
    body = columns_ddl(columns, time_field, watermark_seconds)
    return (
        f"CREATE TABLE `{name}` (\n{body}\n) WITH ('connector' = 'filesystem', "
        f"'path' = '{path.parent.as_uri()}', 'format' = 'json', "
        "'json.timestamp-format.standard' = 'ISO-8601', 'json.fail-on-missing-field' = 'false')"
    )


def reference_tables(sql: str, settings: Settings) -> list[TableSpec]:
    """The declared tables with columns that the job's SQL names."""
    return [table for table in settings.tables if table.columns and mentions(sql, table.name)]
