"""Records as the JSON objects replay sends, a whole chunk at a time.

Each row becomes one JSON object holding its columns in order, byte for byte what
``orjson.dumps`` gives for the row as a dict: floats round-trip, NaN and missing values are
null, and times are ISO-8601 UTC to the millisecond, ending in ``Z`` except in columns a
stream declares TIMESTAMP without a zone (:func:`without_zone`).

It is built column by column, not row by row: a column of numbers goes through orjson in one
call and is cut at its commas, text is quoted and times are formatted by Arrow kernels, and
Arrow then joins the columns into one object per row. Only text holding quotes, backslashes
or control characters (which need escaping), and values Arrow does not hold as such (nested
objects, mixed types), go through orjson value by value.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from tidebox.core.chunks import Column

if TYPE_CHECKING:
    import pandas as pd

_NUMPY = orjson.OPT_SERIALIZE_NUMPY
_MS_UTC = pa.timestamp("ms", tz="UTC")
_ESCAPED = np.zeros(256, dtype=bool)  # bytes a JSON string must escape: ", \ and controls
_ESCAPED[[*range(0x20), ord('"'), ord("\\")]] = True
_DIGITS2 = np.array([[48 + i // 10, 48 + i % 10] for i in range(100)], dtype=np.uint8)
_DIGITS3 = np.array(
    [[48 + i // 100, 48 + i // 10 % 10, 48 + i % 10] for i in range(1000)], np.uint8
)


def without_zone(columns: Mapping[str, str]) -> set[str]:
    """The columns a stream declares as TIMESTAMP without a time zone: Flink's JSON format reads
    those from ISO-8601 text without the ``Z`` a TIMESTAMP_LTZ needs."""
    return {
        name
        for name, kind in columns.items()
        if kind.upper().startswith("TIMESTAMP")
        and "LTZ" not in kind.upper()
        and "LOCAL TIME ZONE" not in kind.upper()
    }


def json_objects(
    columns: Mapping[str, Column | None], rows: int, zoneless: Collection[str] = ()
) -> pa.Array:
    """One JSON object per row (binary), the columns in ``columns``' order; a column that is
    None is null in every row."""
    if not columns:
        return pa.array([b"{}"] * rows, pa.binary())
    parts: list[Any] = []
    last = len(columns) - 1
    for number, (name, column) in enumerate(columns.items()):
        parts.append((b"{" if number == 0 else b"") + orjson.dumps(str(name)) + b":")
        end = b"}" if number == last else b","
        if column is None:
            parts.append(pa.scalar(b"null" + end, pa.binary()))
        else:
            parts.append(json_texts(column, name not in zoneless, end))
    if all(isinstance(p, bytes | pa.Scalar) for p in parts):  # no arrays to take a length from
        parts.append(pa.array([b""] * rows, pa.binary()))
    return pc.binary_join_element_wise(*parts, b"")


def json_texts(column: Column, zone: bool = True, end: bytes = b",") -> pa.Array:
    """Each value of ``column`` as JSON followed by ``end`` (binary, no nulls)."""
    if not isinstance(column, pa.Array):
        return _python_texts(column, end)
    kind = column.type
    null = b"null" + end
    if pa.types.is_dictionary(kind):
        return json_texts(column.dictionary_decode(), zone, end)
    if pa.types.is_floating(kind):
        return _numpy_texts(column.cast(pa.float64()).to_numpy(zero_copy_only=False), end)
    if pa.types.is_integer(kind):
        text = pc.binary_join_element_wise(column.cast(pa.string()).cast(pa.binary()), end, b"")
        return pc.coalesce(text, null)
    if pa.types.is_boolean(kind):
        return pc.coalesce(pc.if_else(column, b"true" + end, b"false" + end), null)
    if pa.types.is_timestamp(kind):
        return _time_texts(column, b'"', (b'Z"' if zone else b'"') + end, null)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _string_texts(column, end)
    if pa.types.is_null(kind):
        return pa.array([null] * len(column), pa.binary())
    return _python_texts(column.to_pylist(), end)


def iso_times(column: pa.Array, suffix: bytes = b"") -> pa.Array:
    """Timestamps as ``2026-01-01T00:00:10.000`` (UTC, to the millisecond, rounded down)
    followed by ``suffix``, as binary; null stays null."""
    texts = _time_texts(column, b"", suffix, None)
    return texts if column.null_count == 0 else pc.if_else(pc.is_valid(column), texts, None)


def _time_texts(column: pa.Array, prefix: bytes, suffix: bytes, null: bytes | None) -> pa.Array:
    """``prefix`` + ISO-8601 text + ``suffix`` for each time; ``null`` where there is none.

    The digits are worked out with integer arithmetic over the whole column (Arrow's strftime
    takes over a microsecond a value); years outside 0-9999 go through strftime.
    """
    if column.type.unit in ("us", "ns"):
        column = pc.floor_temporal(column, unit="millisecond")
    utc = column.cast(_MS_UTC, safe=False)
    ms = utc.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
    fixed = _iso_digits(ms)
    if fixed is None:
        text = pc.strftime(utc, format="%Y-%m-%dT%H:%M:%S").cast(pa.binary())
        texts = pc.binary_join_element_wise(prefix, text, suffix, b"")
    else:
        width = len(prefix) + fixed.shape[1] + len(suffix)
        grid = np.empty((len(ms), width), dtype=np.uint8)
        grid[:, : len(prefix)] = np.frombuffer(prefix, dtype=np.uint8)
        grid[:, len(prefix) : len(prefix) + fixed.shape[1]] = fixed
        grid[:, width - len(suffix) :] = np.frombuffer(suffix, dtype=np.uint8)
        offsets = np.arange(0, width * (len(ms) + 1), width, dtype=np.int32)
        buffers = [None, pa.py_buffer(offsets), pa.py_buffer(grid)]
        texts = pa.Array.from_buffers(pa.binary(), len(ms), buffers)
    if null is not None and column.null_count:
        return pc.if_else(pc.is_valid(column), texts, null)
    return texts


def _iso_digits(ms: np.ndarray) -> np.ndarray | None:
    """``YYYY-MM-DDTHH:MM:SS.mmm`` of each epoch millisecond as a (rows, 23) byte grid; None if
    a year is outside 0-9999. A run of equal times (a fleet's readings of one instant) is
    worked out once."""
    starts = np.flatnonzero(np.diff(ms)) + 1
    if len(ms) < 2 or len(starts) > len(ms) // 2:
        return _iso_grid(ms)
    firsts = np.concatenate(([0], starts))
    grid = _iso_grid(ms[firsts])
    if grid is None:
        return None
    return grid[np.repeat(np.arange(len(firsts)), np.diff(np.append(firsts, len(ms))))]


def _iso_grid(ms: np.ndarray) -> np.ndarray | None:
    # days to dates: Howard Hinnant's civil_from_days
    days, in_day = np.divmod(ms, 86_400_000)
    z = days + 719_468
    era = np.floor_divide(z, 146_097)
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    if len(ms) and (year.min() < 0 or year.max() > 9999):
        return None
    seconds = in_day // 1000
    grid = np.empty((len(ms), 23), dtype=np.uint8)
    grid[:, 0:2] = _DIGITS2[year // 100]
    grid[:, 2:4] = _DIGITS2[year % 100]
    grid[:, 5:7] = _DIGITS2[month]
    grid[:, 8:10] = _DIGITS2[day]
    grid[:, 11:13] = _DIGITS2[seconds // 3600]
    grid[:, 14:16] = _DIGITS2[seconds // 60 % 60]
    grid[:, 17:19] = _DIGITS2[seconds % 60]
    grid[:, 20:23] = _DIGITS3[in_day % 1000]
    for position, mark in ((4, "-"), (7, "-"), (10, "T"), (13, ":"), (16, ":"), (19, ".")):
        grid[:, position] = ord(mark)
    return grid


def _numpy_texts(values: np.ndarray, end: bytes) -> pa.Array:
    """Floats as orjson writes them (one call for the column, cut at the commas)."""
    if not len(values):
        return pa.array([], pa.binary())
    data = bytearray(orjson.dumps(np.ascontiguousarray(values), option=_NUMPY)[1:-1] + b",")
    cuts = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord(","))
    if end != b",":
        if len(end) != 1:
            raise ValueError("a column of floats ends each value with one byte")
        np.frombuffer(data, dtype=np.uint8)[cuts] = end[0]
    offsets = np.concatenate(([0], cuts + 1)).astype(np.int32)
    return pa.Array.from_buffers(
        pa.binary(), len(values), [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )


def _string_texts(column: pa.Array, end: bytes) -> pa.Array:
    """Text in quotes; text that needs escaping goes through orjson value by value."""
    text = column.cast(pa.string()) if pa.types.is_large_string(column.type) else column
    if _needs_escaping(text):
        return _python_texts(text.to_pylist(), end)
    quoted = pc.binary_join_element_wise(b'"', text.cast(pa.binary()), b'"' + end, b"")
    return pc.coalesce(quoted, b"null" + end)


def _needs_escaping(text: pa.Array) -> bool:
    """Whether any byte of the column's text is one JSON escapes (a quick, whole-buffer test)."""
    data = text.buffers()[2]
    if data is None or not len(text):
        return False
    return bool(_ESCAPED[np.frombuffer(data, dtype=np.uint8)].any())


def _python_texts(values: Sequence[Any], end: bytes) -> pa.Array:
    return pa.array([_python_text(v) + end for v in values], pa.binary())


def _python_text(value: Any) -> bytes:
    try:
        return orjson.dumps(value, default=str, option=_NUMPY)
    except orjson.JSONEncodeError:  # an integer beyond 64 bits, and the like
        return json.dumps(value, default=str).encode()


def key_bytes(column: Column, zone: bool = True) -> pa.Array:
    """The Kafka key of each row (binary, null where the value is missing): text as it is,
    times as their JSON text, anything else as Python's ``str`` of the value."""
    if isinstance(column, pa.Array):
        kind = column.type
        if pa.types.is_dictionary(kind):
            return key_bytes(column.dictionary_decode(), zone)
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            return column.cast(pa.binary())
        if pa.types.is_timestamp(kind):
            return iso_times(column, b"Z" if zone else b"")
        values: Sequence[Any] = column.to_pylist()
    else:
        values = column
    return pa.array([None if v is None or v != v else str(v).encode() for v in values], pa.binary())


# -- pandas frames -------------------------------------------------------------------------------


def frame_column(series: pd.Series) -> Column:
    """A pandas column as a chunk column: numbers, booleans and times as Arrow arrays, anything
    else as its values with missing ones (NaN, NA, NaT) as None."""
    import pandas as pd

    dtype = series.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype) or (
        isinstance(dtype, np.dtype) and dtype.kind in "fiub"
    ):
        return pa.array(series, from_pandas=False)
    values = series.tolist()
    missing = series.isna().tolist()
    return [None if gone else v for v, gone in zip(values, missing, strict=True)]


def encode_records(
    frame: pd.DataFrame,
    time_field: str,
    key_field: str | None,
    zoneless: Collection[str] = (),
) -> Iterator[tuple[bytes | None, bytes, int]]:
    """(key, JSON value, event time in ms) for each row of a frame, in frame order.

    ``time_field`` holds timestamps; times in ``zoneless`` columns are written without the
    ``Z``.
    """
    import pandas as pd

    columns = {str(c): frame_column(frame[c]) for c in frame.columns}
    values = json_objects(columns, len(frame), zoneless)
    epoch_ms = (frame[time_field] - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(milliseconds=1)
    keys: list[Any] = [None] * len(frame)
    if key_field is not None and key_field in columns:
        keys = key_bytes(columns[key_field], key_field not in zoneless).to_pylist()
    texts = values.to_numpy(zero_copy_only=False).tolist()
    yield from zip(keys, texts, (int(ms) for ms in epoch_ms.tolist()), strict=True)
