"""Read CSV, JSON Lines and Parquet files of records into pandas, with errors that name the file.

pandas is imported when first used: replay, which reads files chunk by chunk
(tidebox.core.chunks), parses times here only when Arrow cannot, and starts faster without it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from tidebox.core.errors import InputFileError

if TYPE_CHECKING:
    import pandas as pd

FORMATS = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".json": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
}
# How many lines come before the first record, so that row i sits on line i + offset.
_FIRST_LINE = {"csv": 2, "jsonl": 1, "parquet": 1}


def file_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputFileError(str(path), "unsupported format: use .csv, .jsonl or .parquet")
    return fmt


def read_records(path: str | Path) -> pd.DataFrame:
    """All records of one file, in file order."""
    import pandas as pd

    path = Path(path)
    fmt = file_format(path)
    if not path.is_file():
        raise InputFileError(str(path), "file not found")
    try:
        if fmt == "csv":
            # round_trip: pandas' default float parser is off by an ulp on about one value in
            # ten of full-precision numbers, so a replayed file would not be the file
            frame = pd.read_csv(
                path,
                dtype={"device_id": "string"},
                keep_default_na=True,
                float_precision="round_trip",
            )
            frame.attrs["lines"] = _csv_record_lines(path, len(frame))  # for error messages
            return frame
        if fmt == "parquet":
            return pd.read_parquet(path)
        return _read_jsonl(path)
    except InputFileError:
        raise
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputFileError(str(path), f"cannot read {fmt}: {first}") from exc
    except Exception as exc:  # pyarrow/pandas raise many types for a corrupt file
        raise InputFileError(str(path), f"cannot read {fmt}: {type(exc).__name__}: {exc}") from exc


def _csv_record_lines(path: Path, rows: int) -> list[int] | None:
    """The line number of each CSV record (blank lines are skipped by the reader).

    None when the count does not match, as with quoted values that span lines.
    """
    with path.open(encoding="utf-8", errors="replace") as handle:
        numbers = [n for n, line in enumerate(handle, start=1) if line.strip()]
    return numbers[1:] if len(numbers) - 1 == rows else None


def _read_jsonl(path: Path) -> pd.DataFrame:
    import pandas as pd

    rows = []
    lines = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputFileError(str(path), f"invalid JSON: {exc.msg}", line=number) from exc
            if not isinstance(row, dict):
                raise InputFileError(str(path), "each line must be a JSON object", line=number)
            rows.append(row)
            lines.append(number)
    frame = pd.DataFrame.from_records(rows)
    frame.attrs["lines"] = lines
    return frame


def line_of(frame: pd.DataFrame, path: Path, row_index: int) -> int:
    """The line number of a record, for error messages (rows of Parquet count from 1)."""
    lines = frame.attrs.get("lines")
    if lines is not None and row_index < len(lines):
        return int(lines[row_index])
    return row_index + _FIRST_LINE[file_format(path)]


def parse_times(frame: pd.DataFrame, field: str, path: Path) -> pd.Series:
    """The time column as UTC timestamps; a missing column or unparseable value names its row.

    Strings are read as ISO-8601 (naive ones as UTC); numbers as epoch seconds, or epoch
    milliseconds when they are too large to be seconds.
    """
    if field not in frame.columns:
        columns = ", ".join(map(str, frame.columns))
        raise InputFileError(str(path), f"no time field '{field}' (columns: {columns})")
    return time_values(frame[field], field, path, lambda index: line_of(frame, path, index))


def time_values(raw: pd.Series, field: str, path: Path, line_at: Callable[[int], int]) -> pd.Series:
    """The values of time field ``field`` as UTC timestamps (milliseconds), read as
    :func:`parse_times` reads them; ``line_at`` gives the line of a row for the error."""
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(raw):
        times = pd.to_datetime(raw, utc=True)
    elif pd.api.types.is_numeric_dtype(raw):
        unit = "ms" if raw.abs().max() > 1e11 else "s"
        times = pd.to_datetime(raw, unit=unit, utc=True, errors="coerce")
    else:
        times = pd.to_datetime(raw, utc=True, errors="coerce", format="ISO8601")
    bad = times.isna()
    if bad.any():
        index = int(bad.to_numpy().nonzero()[0][0])
        value = raw.iloc[index]
        value = float("nan") if value is None else value  # a missing value, as pandas reads it
        raise InputFileError(
            str(path), f"unparseable time in '{field}': {value!r}", line=line_at(index)
        )
    return times.astype("datetime64[ms, UTC]")
