"""The Parquet sink: records in per source partition, Parquet files out under Hive-style prefixes.

The contract follows Quix Streams' sinks: ``add()`` per record, ``flush()`` at commit time,
batches kept per source partition. Files are named after the partition and the offset range
they hold (``part-p<partition>-<first>-<last>.parquet``) and appear atomically (written aside,
then renamed). After the files of a flush, a progress record per partition
(``_progress/<stream>/p<partition>.json``) says where the next flush starts; a sink that
restarts resumes there and first deletes any file a flush wrote without recording it, so a
record is never landed twice nor lost.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tidebox.config import StreamSpec

FILE_PATTERN = re.compile(r"^part-p(\d+)-(\d+)-(\d+)\.parquet$")
ERRORS_FOLDER = "_errors"
PROGRESS_FOLDER = "_progress"


def arrow_type(sql_type: str) -> pa.DataType:
    """The Arrow type landed for a Flink SQL column type."""
    base = sql_type.upper().split("(")[0].strip()
    if base.startswith("TIMESTAMP"):
        return pa.timestamp("ms", tz="UTC")
    return {
        "STRING": pa.string(),
        "VARCHAR": pa.string(),
        "CHAR": pa.string(),
        "DOUBLE": pa.float64(),
        "FLOAT": pa.float32(),
        "DECIMAL": pa.float64(),
        "BIGINT": pa.int64(),
        "INT": pa.int32(),
        "INTEGER": pa.int32(),
        "SMALLINT": pa.int16(),
        "TINYINT": pa.int8(),
        "BOOLEAN": pa.bool_(),
        "DATE": pa.date32(),
    }.get(base, pa.string())


@dataclass(frozen=True)
class LandedFile:
    path: Path
    partition: int
    first_offset: int
    last_offset: int
    rows: int
    bytes: int


@dataclass
class _Pending:
    record: dict[str, Any]
    offset: int
    hour: datetime
    raw: bytes


@dataclass
class SinkCounters:
    records_in: int = 0
    rows_landed: int = 0
    errors: int = 0
    files: list[LandedFile] = field(default_factory=list)


class ParquetSink:
    """Lands the records of one stream under ``<bucket>/<prefix>/dt=YYYY-MM-DD/hour=HH/``."""

    def __init__(self, bucket: Path, stream: str, spec: StreamSpec | None = None) -> None:
        self.stream = stream
        self.root = bucket / stream
        self.errors_root = bucket / ERRORS_FOLDER / stream
        self.progress_root = bucket / PROGRESS_FOLDER / stream
        self.spec = spec
        self.schema = (
            pa.schema([(c, arrow_type(t)) for c, t in spec.columns.items()])
            if spec and spec.columns
            else None
        )
        self._batches: dict[int, list[_Pending]] = defaultdict(list)
        self._bad: dict[int, list[tuple[int, bytes, str]]] = defaultdict(list)
        self.counters = SinkCounters()

    def drop(self) -> None:
        """Forget the stream's landing: its data, error output and progress records."""
        for root in (self.root, self.errors_root, self.progress_root):
            shutil.rmtree(root, ignore_errors=True)

    # -- progress recorded on disk ------------------------------------------------------------
    def landed_offsets(self) -> dict[int, int]:
        """Per source partition, the next offset to land, as the last complete flush left it."""
        landed: dict[int, int] = {}
        if self.progress_root.exists():
            for path in self.progress_root.glob("p*.json"):
                state = json.loads(path.read_text())
                landed[int(state["partition"])] = int(state["next_offset"])
        return landed

    def discard_incomplete(self, partition: int, start: int) -> list[Path]:
        """Delete the files of a flush that never completed: those starting at ``start`` or later.

        A flush writes its files, then its progress record; files past the recorded progress
        were written by a flush that died before recording it, and will be written again.
        """
        removed = []
        for root in (self.root, self.errors_root):
            if not root.exists():
                continue
            for path in root.rglob(f".part-p{partition:03d}-*.tmp"):  # a write cut short
                path.unlink()
                removed.append(path)
            for path in root.rglob(f"part-p{partition:03d}-*"):
                match = FILE_PATTERN.match(path.name.replace(".jsonl", ".parquet"))
                if match and int(match.group(2)) >= start:
                    path.unlink()
                    removed.append(path)
        return removed

    # -- the sink contract --------------------------------------------------------------------
    def add(self, value: bytes, partition: int, offset: int, timestamp_ms: int) -> None:
        """Buffer one record; a record that is not a JSON object is kept for the error output."""
        self.counters.records_in += 1
        try:
            record = json.loads(value)
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
            hour = self._hour_of(record, timestamp_ms)
        except (ValueError, TypeError) as exc:
            self._bad[partition].append((offset, value, str(exc)))
            return
        self._batches[partition].append(_Pending(record, offset, hour, value))

    def buffered(self) -> int:
        return sum(len(b) for b in self._batches.values()) + sum(len(b) for b in self._bad.values())

    def flush(self) -> dict[int, int]:
        """Land every buffered batch, then record the progress; return the next offsets.

        Only once this returns is the batch durable: the caller commits offsets to Kafka after.
        """
        commit = self._write_files()
        for partition, next_offset in sorted(commit.items()):
            record = json.dumps({"partition": partition, "next_offset": next_offset})
            name = f"p{partition:03d}.json"
            _write_atomically(
                self.progress_root, name, lambda tmp, text=record: tmp.write_text(text)
            )
        return commit

    def _write_files(self) -> dict[int, int]:
        commit: dict[int, int] = {}
        for partition, batch in self._batches.items():
            by_hour: dict[datetime, list[_Pending]] = defaultdict(list)
            for item in batch:
                by_hour[item.hour].append(item)
            for hour, items in sorted(by_hour.items()):
                table, fitting = self._convert(partition, items)
                if fitting:
                    self._write_parquet(partition, hour, fitting, table)
            commit[partition] = max(i.offset for i in batch) + 1
        for partition, bad in self._bad.items():
            self._write_errors(partition, sorted(bad))
            commit[partition] = max(commit.get(partition, 0), max(o for o, _, _ in bad) + 1)
        self._batches.clear()
        self._bad.clear()
        return commit

    # -- internals ----------------------------------------------------------------------------
    def _hour_of(self, record: dict[str, Any], timestamp_ms: int) -> datetime:
        field_name = self.spec.time_field if self.spec else None
        raw = record.get(field_name) if field_name else None
        stamp = to_timestamp(timestamp_ms if raw is None else raw)
        return stamp.floor("h").to_pydatetime().astimezone(UTC)

    def _table(self, records: list[dict[str, Any]]) -> pa.Table:
        if self.schema is None:
            return pa.Table.from_pylist(records)
        columns = []
        for column in self.schema:
            values = [r.get(column.name) for r in records]
            if pa.types.is_timestamp(column.type):
                columns.append(pa.array(_timestamps(values), type=column.type))
            else:
                columns.append(pa.array(values, type=column.type))
        return pa.Table.from_arrays(columns, schema=self.schema)

    def _convert(self, partition: int, items: list[_Pending]) -> tuple[pa.Table, list[_Pending]]:
        """The batch as an Arrow table; records that do not fit the schema go to the errors."""
        try:
            return self._table([i.record for i in items]), items
        except _CONVERSION_ERRORS:
            pass  # find the offending records one by one
        fitting = []
        for item in items:
            try:
                self._table([item.record])
                fitting.append(item)
            except _CONVERSION_ERRORS as exc:
                problem = f"does not fit the schema: {str(exc).splitlines()[0]}"
                self._bad[partition].append((item.offset, item.raw, problem))
        return self._table([i.record for i in fitting]), fitting

    def _write_parquet(
        self, partition: int, hour: datetime, items: list[_Pending], table: pa.Table
    ) -> None:
        folder = self.root / f"dt={hour:%Y-%m-%d}" / f"hour={hour:%H}"
        first, last = items[0].offset, items[-1].offset
        name = f"part-p{partition:03d}-{first:012d}-{last:012d}.parquet"
        path = _write_atomically(folder, name, lambda tmp: pq.write_table(table, tmp))
        size = path.stat().st_size
        self.counters.files.append(LandedFile(path, partition, first, last, len(items), size))
        self.counters.rows_landed += len(items)

    def _write_errors(self, partition: int, bad: list[tuple[int, bytes, str]]) -> None:
        first, last = bad[0][0], bad[-1][0]
        name = f"part-p{partition:03d}-{first:012d}-{last:012d}.jsonl"
        lines = [
            json.dumps(
                {
                    "partition": partition,
                    "offset": o,
                    "error": e,
                    "raw": v.decode("utf-8", "replace"),
                }
            )
            for o, v, e in bad
        ]
        _write_atomically(
            self.errors_root, name, lambda tmp: tmp.write_text("\n".join(lines) + "\n")
        )
        self.counters.errors += len(bad)


_CONVERSION_ERRORS = (pa.ArrowException, ValueError, TypeError, OverflowError)


def _timestamps(values: list[Any]) -> pd.Series:
    """Many times at once: vectorised for ISO text (the common case), else one by one."""
    if all(isinstance(v, str) or v is None for v in values):
        parsed = pd.to_datetime(pd.Series(values, dtype=object), utc=True, format="ISO8601")
        return parsed.dt.floor("ms")
    return pd.Series([None if v is None else to_timestamp(v) for v in values], dtype=object)


def to_timestamp(value: Any) -> pd.Timestamp:
    """A UTC timestamp truncated to milliseconds, from ISO-8601 text or epoch milliseconds.

    Naive text is read as UTC. Raises ValueError for anything else.
    """
    if isinstance(value, bool):
        raise ValueError(f"not a time: {value!r}")
    if isinstance(value, int | float):
        stamp = pd.Timestamp(value, unit="ms", tz="UTC")
    elif isinstance(value, str):
        stamp = pd.Timestamp(value)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    else:
        raise ValueError(f"not a time: {value!r}")
    if stamp is pd.NaT:
        raise ValueError(f"not a time: {value!r}")
    return stamp.floor("ms")


def _write_atomically(folder: Path, name: str, write: Any) -> Path:
    """Write to a hidden temporary name beside the target, fsync, then rename into place."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{name}.tmp"
    write(tmp)
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    final = folder / name
    os.replace(tmp, final)
    return final
