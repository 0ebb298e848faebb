"""Unit tests of tidebox.core.records: reading record files and parsing their time column."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tidebox.core.errors import InputFileError, TideboxError
from tidebox.core.records import line_of, parse_times, read_records

ROWS = [
    {"device_id": "007", "event_time": "2024-01-01T00:00:00Z", "temperature": 20.5},
    {"device_id": "008", "event_time": "2024-01-01T00:00:10Z", "temperature": None},
]


def input_error(path: Path) -> InputFileError:
    with pytest.raises(InputFileError) as info:
        read_records(path)
    assert isinstance(info.value, TideboxError)
    assert "\n" not in str(info.value)
    return info.value


# -- read_records --------------------------------------------------------------------------------


def test_read_csv(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text(
        "device_id,event_time,temperature\n"
        "007,2024-01-01T00:00:00Z,20.5\n"
        "008,2024-01-01T00:00:10Z,\n"
    )
    frame = read_records(path)
    assert list(frame.columns) == ["device_id", "event_time", "temperature"]
    # device ids stay text, leading zeros and all
    assert frame["device_id"].tolist() == ["007", "008"]
    assert frame["temperature"].iloc[0] == 20.5
    assert pd.isna(frame["temperature"].iloc[1])


def test_full_precision_numbers_read_back_exactly(tmp_path: Path) -> None:
    """A CSV pandas wrote reads back to the same doubles (pandas' default parser is off by an
    ulp on some), so replaying a file sends exactly the file's values."""
    values = 40 + np.cumsum(np.random.default_rng(8).normal(0, 0.3, 400))
    path = tmp_path / "in.csv"
    pd.DataFrame({"event_time": "2024-01-01T00:00:00Z", "flow": values}).to_csv(path, index=False)
    assert read_records(path)["flow"].tolist() == values.tolist()


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".ndjson", ".JSONL"])
def test_read_jsonl(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"in{suffix}"
    path.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n\n")
    frame = read_records(path)
    assert frame["device_id"].tolist() == ["007", "008"]
    assert frame["event_time"].tolist() == ["2024-01-01T00:00:00Z", "2024-01-01T00:00:10Z"]


def test_read_parquet(tmp_path: Path) -> None:
    path = tmp_path / "in.parquet"
    pq.write_table(pa.Table.from_pylist(ROWS), path)
    frame = read_records(path)
    assert frame.to_dict("records")[0] == ROWS[0]
    assert len(frame) == 2


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.csv"
    error = input_error(path)
    assert str(error) == f"{path}: file not found"
    assert error.path == str(path)


def test_unsupported_suffix(tmp_path: Path) -> None:
    path = tmp_path / "in.xlsx"
    path.write_text("whatever")
    assert "unsupported format" in input_error(path).problem


def test_invalid_json_line_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps(ROWS[0]) + "\n" + '{"device_id": "008",\n')
    error = input_error(path)
    assert error.line == 2
    assert str(error).startswith(f"{path}:2: invalid JSON")


def test_non_object_json_line(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps(ROWS[0]) + "\n" + "[1, 2]\n")
    error = input_error(path)
    assert error.line == 2
    assert "JSON object" in error.problem


def test_corrupt_parquet(tmp_path: Path) -> None:
    path = tmp_path / "in.parquet"
    path.write_bytes(b"not parquet at all")
    assert "cannot read parquet" in input_error(path).problem


# -- parse_times ---------------------------------------------------------------------------------


def utc(*texts: str) -> list[pd.Timestamp]:
    return [pd.Timestamp(t, tz="UTC") for t in texts]


def test_iso_strings_with_z_and_naive_are_utc() -> None:
    frame = pd.DataFrame({"t": ["2024-01-01T00:00:00Z", "2024-01-01T01:30:00.250"]})
    times = parse_times(frame, "t", Path("in.csv"))
    assert times.tolist() == utc("2024-01-01T00:00:00", "2024-01-01T01:30:00.250")
    assert str(times.dtype) == "datetime64[ms, UTC]"


def test_iso_strings_with_offsets_convert_to_utc() -> None:
    frame = pd.DataFrame({"t": ["2024-01-01T02:00:00+02:00"]})
    assert parse_times(frame, "t", Path("in.csv")).tolist() == utc("2024-01-01T00:00:00")


def test_epoch_seconds() -> None:
    frame = pd.DataFrame({"t": [1_704_067_200, 1_704_067_210.5]})
    times = parse_times(frame, "t", Path("in.csv"))
    assert times.tolist() == utc("2024-01-01T00:00:00", "2024-01-01T00:00:10.500")


def test_epoch_milliseconds() -> None:
    frame = pd.DataFrame({"t": [1_704_067_200_000, 1_704_067_210_250]})
    times = parse_times(frame, "t", Path("in.csv"))
    assert times.tolist() == utc("2024-01-01T00:00:00", "2024-01-01T00:00:10.250")


def test_datetime_column_passes_through_as_utc() -> None:
    frame = pd.DataFrame({"t": pd.to_datetime(["2024-01-01T00:00:00"])})
    assert parse_times(frame, "t", Path("in.parquet")).tolist() == utc("2024-01-01T00:00:00")


def test_bad_value_in_csv_reports_row_index_plus_two(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("t\n2024-01-01T00:00:00Z\n2024-01-01T00:00:10Z\nyesterday\n")
    frame = read_records(path)
    with pytest.raises(InputFileError) as info:
        parse_times(frame, "t", path)
    assert info.value.line == 4  # row index 2, after the header line
    assert str(info.value) == f"{path}:4: unparseable time in 't': 'yesterday'"


def test_bad_value_in_jsonl_reports_its_line(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"t": "2024-01-01T00:00:00Z"}\n{"t": "soon"}\n')
    with pytest.raises(InputFileError) as info:
        parse_times(read_records(path), "t", path)
    assert info.value.line == 2


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        ("in.jsonl", '{"t": "2024-01-01T00:00:00Z"}\n\n{"t": "soon"}\n', 3),
        ("in.csv", "t\n2024-01-01T00:00:00Z\n\nsoon\n", 4),
    ],
    ids=["jsonl", "csv"],
)
def test_bad_value_after_a_blank_line_reports_its_line(
    tmp_path: Path, name: str, text: str, line: int
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InputFileError) as info:
        parse_times(read_records(path), "t", path)
    assert info.value.line == line


def test_missing_number_reports_its_row() -> None:
    frame = pd.DataFrame({"t": [1_704_067_200, None, 1_704_067_220]})
    with pytest.raises(InputFileError) as info:
        parse_times(frame, "t", Path("in.parquet"))
    assert info.value.line == 2  # Parquet rows count from 1


def test_missing_time_column_lists_the_columns() -> None:
    frame = pd.DataFrame({"device_id": ["a"], "temperature": [1.0]})
    with pytest.raises(InputFileError) as info:
        parse_times(frame, "event_time", Path("in.csv"))
    assert info.value.line is None
    assert str(info.value) == "in.csv: no time field 'event_time' (columns: device_id, temperature)"


def test_line_of_per_format() -> None:
    empty = pd.DataFrame()
    assert line_of(empty, Path("a.csv"), 0) == 2
    assert line_of(empty, Path("a.jsonl"), 0) == 1
    assert line_of(empty, Path("a.parquet"), 4) == 5
