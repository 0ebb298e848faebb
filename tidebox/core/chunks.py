"""Read a record file chunk by chunk, so that memory depends on the chunk size, not the file's.

Each format is read as its whole-file reader (tidebox.core.records) reads it, chunk by chunk:

- CSV goes through Arrow's streaming reader. Numbers are parsed exactly (a replayed float is
  the file's float), ``device_id`` stays text, blank lines are skipped, and the values pandas
  takes for missing (blank, ``NA``, ``null``, ...) are missing. Column types are the ones Arrow
  infers from the first megabyte, except that dates and times stay text as the file writes
  them. When a later chunk does not fit a column's type (a ``1.5`` in a column of whole
  numbers, text in one of numbers), the column is widened (whole numbers to floats, anything
  to text) and the file is read again from where it stood; the chunks already read keep their
  type.
- Parquet is read by record batches (Arrow reads a row group's pages as it goes); the index
  columns pandas stores are left out, as pandas leaves them out.
- JSON Lines is read line by line; each chunk's columns are its objects' keys in the order
  they first appear.

Rows keep their file order. Errors are :class:`InputFileError` naming the file and, for a
row, its line (CSV lines are found by reading the file again, only when there is an error).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tidebox.core.errors import InputFileError
from tidebox.core.records import file_format, time_values

# A column of a chunk: an Arrow array, or (JSON Lines values Arrow cannot hold as they are,
# such as nested objects or mixed types) the Python values themselves.
Column: TypeAlias = pa.Array | Sequence[Any]

# What pandas reads as missing by default (pandas.read_csv's na_values); Arrow's own list lacks
# "None" and "<NA>".
PANDAS_NA = (
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
)  # fmt: skip
_PROBE_BYTES = 1 << 20  # Arrow infers CSV column types from this much of the file
# Arrow parses CSV a block at a time and reads several blocks ahead (about 30 blocks' worth
# of memory in all): blocks of at most 1 MB keep that near 35 MB; chunks are made of blocks.
_MAX_BLOCK_BYTES = 1 << 20
_MIN_BLOCK_BYTES = 64 << 10
_CSV_TYPES = (pa.int64(), pa.float64(), pa.bool_(), pa.string())
_BIG_INT = float(2**63)
_EXACT_INT = 2**53  # the largest integer every float holds exactly
_BAD_COLUMN = re.compile(r"In CSV column #(\d+):")
_BAD_VALUE = re.compile(r"invalid value '(.*)'$", re.DOTALL)
_BAD_ROW = re.compile(r"Expected \d+ columns, got \d+: (.*)$", re.DOTALL)


@dataclass
class Chunk:
    """Consecutive rows of one file: ``rows`` rows from row ``first_row`` (0-based) on."""

    path: Path
    columns: dict[str, Column]
    rows: int
    first_row: int
    # the line of each row (JSON Lines); None when it is worked out on demand (CSV, Parquet)
    lines: Sequence[int] | np.ndarray | None = field(default=None, repr=False)

    def line_of(self, index: int) -> int:
        """The file line of row ``index`` of this chunk, for error messages."""
        if self.lines is not None:
            return int(self.lines[index])
        row = self.first_row + index
        if file_format(self.path) == "csv":
            return csv_record_line(self.path, row)
        return row + 1  # Parquet rows count from 1


def read_chunks(path: str | Path, rows: int) -> Iterator[Chunk]:
    """The file's records in chunks of about ``rows`` rows (CSV: of about that many rows' bytes).

    The file is checked when this is called; reading errors surface when a chunk is read.
    """
    path = Path(path)
    fmt = file_format(path)
    if not path.is_file():
        raise InputFileError(str(path), "file not found")
    readers: dict[str, Callable[[Path, int], Iterator[Chunk]]] = {
        "csv": _csv_chunks,
        "parquet": _parquet_chunks,
        "jsonl": _jsonl_chunks,
    }
    return _reporting(readers[fmt](path, max(1, rows)), path, fmt)


def _reporting(chunks: Iterator[Chunk], path: Path, fmt: str) -> Iterator[Chunk]:
    """``chunks``, with any reader error turned into one InputFileError line."""
    try:
        yield from chunks
    except InputFileError:
        raise
    except (OSError, ValueError, UnicodeDecodeError, pa.ArrowException) as exc:
        text = str(exc).strip()
        first = text.splitlines()[0] if text else type(exc).__name__
        line = _csv_bad_row_line(path, text) if fmt == "csv" else None
        raise InputFileError(str(path), f"cannot read {fmt}: {first}", line=line) from exc


# -- CSV -----------------------------------------------------------------------------------------


def _convert_options(types: dict[str, pa.DataType]) -> pacsv.ConvertOptions:
    return pacsv.ConvertOptions(
        column_types=types,
        null_values=list(PANDAS_NA),
        strings_can_be_null=True,
        true_values=["True", "TRUE", "true"],  # pandas' booleans; Arrow also takes 1 and 0
        false_values=["False", "FALSE", "false"],
    )


def _open_csv(path: Path, types: dict[str, pa.DataType], block: int) -> pacsv.CSVStreamingReader:
    return pacsv.open_csv(
        path,
        # one thread: as fast here, and the cores are for the producer and the broker
        read_options=pacsv.ReadOptions(block_size=block, use_threads=False),
        # quoted values may span lines, as pandas reads them
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=_convert_options(types),
    )


def _csv_types(path: Path, rows: int) -> tuple[dict[str, pa.DataType], int]:
    """The column types Arrow infers from the first megabyte, kept to those pandas would give
    (dates and times stay text), and a block size that holds about ``rows`` rows (between 64
    KB and 1 MB)."""
    reader = _open_csv(path, {"device_id": pa.string()}, _PROBE_BYTES)
    names = reader.schema.names
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise InputFileError(str(path), f"column '{duplicated[0]}' appears twice in the header")
    types = {
        f.name: f.type if f.type in _CSV_TYPES or f.type == pa.null() else pa.string()
        for f in reader.schema
    }
    try:
        first = reader.read_next_batch()
    except StopIteration:
        first = None  # a header and no rows
    reader.close()
    sample = min(path.stat().st_size, _PROBE_BYTES)
    per_row = sample / first.num_rows if first is not None and first.num_rows else 64.0
    return types, min(_MAX_BLOCK_BYTES, max(_MIN_BLOCK_BYTES, int(per_row * rows)))


def _csv_chunks(path: Path, rows: int) -> Iterator[Chunk]:
    """Chunks of at least ``rows`` rows (the last one may have fewer), made of whole blocks."""
    done = 0
    held: list[pa.RecordBatch] = []
    for batch in _csv_batches(path, rows):
        held.append(batch)
        if sum(b.num_rows for b in held) >= rows:
            yield _csv_chunk(path, held, done)
            done += sum(b.num_rows for b in held)
            held = []
    if held:
        yield _csv_chunk(path, held, done)


def _csv_chunk(path: Path, batches: list[pa.RecordBatch], done: int) -> Chunk:
    table = pa.Table.from_batches(batches).combine_chunks()
    columns = {name: table.column(name).chunk(0) for name in table.column_names}
    return Chunk(path, columns, table.num_rows, done)


def _csv_batches(path: Path, rows: int) -> Iterator[pa.RecordBatch]:
    """The file's record batches, one per block; a column a block does not fit is widened and
    the file read again from the first row not yet given out."""
    types, block = _csv_types(path, rows)
    done = 0  # rows already given out
    while True:
        reader = _open_csv(path, types, block)
        skip = done
        try:
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    return
                except pa.ArrowInvalid as exc:
                    widened = _widen(types, reader.schema.names, str(exc))
                    if widened is None:
                        raise
                    types = widened
                    break  # read again from the start with the wider type, skipping `done`
                if skip >= batch.num_rows:
                    skip -= batch.num_rows
                    continue
                batch, skip = batch.slice(skip), 0
                yield batch
                done += batch.num_rows
        finally:
            reader.close()


def _widen(
    types: dict[str, pa.DataType], names: list[str], message: str
) -> dict[str, pa.DataType] | None:
    """``types`` with the column a conversion error names one step wider; None if it cannot
    be (it is text already, or the error names no column)."""
    found = _BAD_COLUMN.search(message)
    if found is None or int(found.group(1)) >= len(names):
        return None
    name = names[int(found.group(1))]
    kind = types.get(name, pa.string())
    if kind == pa.string():
        return None
    found = _BAD_VALUE.search(message)
    value = found.group(1) if found else ""
    wider = pa.string()
    if kind == pa.null() and _parses(int, value):
        wider = pa.int64()
    elif kind in (pa.null(), pa.int64()) and _parses(float, value):
        wider = pa.float64()
    return {**types, name: wider}


def _parses(kind: Callable[[str], object], text: str) -> bool:
    try:
        kind(text)
    except ValueError:
        return False
    return True


def csv_record_line(path: Path, row: int) -> int:
    """The line on which CSV record ``row`` (0: the first after the header) starts.

    Blank lines are skipped, as the reader skips them, and a quoted value may span lines (a
    record starts only outside quotes). If the file is shorter, the line it would have had
    without either.
    """
    record = -2  # the header is record -1
    quoted = False
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not quoted and line.strip():
                record += 1
                if record == row:
                    return number
            if line.count(b'"') % 2:
                quoted = not quoted
    return row + 2


def _csv_bad_row_line(path: Path, message: str) -> int | None:
    """The line of the row a CSV parse error quotes (``Expected 3 columns, got 4: a,b,c,d``)."""
    found = _BAD_ROW.search(message)
    if found is None:
        return None
    wanted = found.group(1).encode()
    try:
        with path.open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                if line.rstrip(b"\r\n") == wanted:
                    return number
    except OSError:
        return None
    return None


# -- Parquet -------------------------------------------------------------------------------------


def _parquet_chunks(path: Path, rows: int) -> Iterator[Chunk]:
    with pq.ParquetFile(path) as parquet:
        schema = parquet.schema_arrow
        index = (schema.pandas_metadata or {}).get("index_columns", [])
        stored = {name for name in index if isinstance(name, str)}  # a RangeIndex is not stored
        wanted = [name for name in schema.names if name not in stored]
        done = 0
        for batch in parquet.iter_batches(batch_size=rows, columns=wanted, use_threads=False):
            columns = dict(zip(batch.schema.names, batch.columns, strict=True))
            yield Chunk(path, columns, batch.num_rows, done)
            done += batch.num_rows


# -- JSON Lines ----------------------------------------------------------------------------------


def _jsonl_chunks(path: Path, rows: int) -> Iterator[Chunk]:
    objects: list[dict[str, Any]] = []
    lines: list[int] = []
    done = 0
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            objects.append(_json_object(line, path, number))
            lines.append(number)
            if len(objects) >= rows:
                yield _jsonl_chunk(path, objects, lines, done)
                done += len(objects)
                objects, lines = [], []
    if objects:
        yield _jsonl_chunk(path, objects, lines, done)


def _json_object(line: bytes, path: Path, number: int) -> dict[str, Any]:
    try:
        row = orjson.loads(line)
        # orjson reads an integer beyond 64 bits as a float: Python's parser keeps it whole
        if isinstance(row, dict) and any(
            type(v) is float and not -_BIG_INT < v < _BIG_INT for v in row.values()
        ):
            row = json.loads(line)
    except orjson.JSONDecodeError:
        # Python's parser also takes NaN and Infinity
        try:
            row = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            problem = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            raise InputFileError(str(path), f"invalid JSON: {problem}", line=number) from exc
    if not isinstance(row, dict):
        raise InputFileError(str(path), "each line must be a JSON object", line=number)
    return row


def _jsonl_chunk(path: Path, objects: list[dict[str, Any]], lines: list[int], done: int) -> Chunk:
    names: dict[str, None] = {}
    for row in objects:
        for name in row:
            if name not in names:
                names[name] = None
    columns = {name: _arrow_or_values([row.get(name) for row in objects]) for name in names}
    return Chunk(path, columns, len(objects), done, np.asarray(lines, dtype=np.int64))


def _arrow_or_values(values: list[Any]) -> Column:
    """The values as an Arrow array when Arrow holds them as they are (numbers, booleans, text;
    integers mixed with floats become floats, as pandas makes them), else the values."""
    try:
        array = pa.array(values, from_pandas=True)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return values
    kind = array.type
    if kind == pa.float64() and any(type(v) is int and abs(v) > _EXACT_INT for v in values):
        return values  # an integer too large for a float, as Python read it
    if kind in _CSV_TYPES or kind == pa.null():
        return array
    return values


# -- event times ---------------------------------------------------------------------------------


def chunk_times(chunk: Chunk, name: str) -> np.ndarray:
    """The time column ``name`` of the chunk as UTC epoch milliseconds (int64), parsed as
    :func:`tidebox.core.records.parse_times` parses it; an unparseable value names its line."""
    column = chunk.columns.get(name)
    if column is None:
        listing = ", ".join(chunk.columns)
        raise InputFileError(str(chunk.path), f"no time field '{name}' (columns: {listing})")
    if isinstance(column, pa.Array) and column.null_count == 0 and len(column):
        fast = _arrow_times(column)
        if fast is not None:
            return fast
    import pandas as pd  # only for times Arrow does not read: startup is faster without it

    raw = column.to_pandas() if isinstance(column, pa.Array) else pd.Series(column, dtype=object)
    if isinstance(column, list | tuple) or raw.dtype == object:
        raw = raw.infer_objects()
    times = time_values(raw, name, chunk.path, chunk.line_of)
    return np.asarray(times.array.asi8, dtype=np.int64)


def _arrow_times(column: pa.Array) -> np.ndarray | None:
    """Times Arrow reads the way pandas does: timestamps, and ISO-8601 text with a zone."""
    kind = column.type
    if pa.types.is_timestamp(kind):
        if kind.unit in ("us", "ns"):
            column = pc.floor_temporal(column, unit="millisecond")
        column = column.cast(pa.timestamp("ms", tz="UTC"), safe=False)
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
        try:
            column = pc.cast(column, pa.timestamp("ms", tz="UTC"))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None  # naive times, more than milliseconds, other forms: pandas reads them
    else:
        return None
    return np.asarray(column.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)
