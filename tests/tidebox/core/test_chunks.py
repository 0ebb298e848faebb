"""Unit tests of tidebox.core.chunks: record files read chunk by chunk, with the values, types,
times and error lines the whole-file reader (tidebox.core.records) gives."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from tidebox.core.chunks import Chunk, chunk_times, csv_record_line, read_chunks
from tidebox.core.errors import InputFileError
from tidebox.core.records import parse_times, read_records


def rows_of(chunks: list[Chunk]) -> list[dict[str, object]]:
    """Every row of the chunks as a dict of Python values (missing ones as None)."""
    out: list[dict[str, object]] = []
    for chunk in chunks:
        columns = {
            name: column.to_pylist() if isinstance(column, pa.Array) else list(column)
            for name, column in chunk.columns.items()
        }
        out.extend(
            dict(zip(columns, values, strict=True))
            for values in zip(*columns.values(), strict=True)
        )
    return out


def test_csv_is_read_in_chunks_of_whole_blocks(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    frame = pd.DataFrame({"event_time": "2024-01-01T00:00:00Z", "n": np.arange(300_000)})
    frame.to_csv(path, index=False)
    chunks = list(read_chunks(path, 10_000))
    assert len(chunks) > 10
    assert all(c.rows >= 10_000 for c in chunks[:-1])
    assert all(c.rows < 40_000 for c in chunks)  # 64 KB blocks: never far above the ask
    assert [c.first_row for c in chunks] == list(np.cumsum([0] + [c.rows for c in chunks[:-1]]))
    assert sum(c.rows for c in chunks) == 300_000
    assert [r["n"] for r in rows_of(chunks)] == list(range(300_000))


def test_csv_values_are_the_files(tmp_path: Path) -> None:
    """Full-precision floats read back exactly, device ids stay text, blank lines are skipped
    and pandas' missing values are missing, as read_records reads them."""
    flow = 40 + np.cumsum(np.random.default_rng(8).normal(0, 0.3, 400))
    path = tmp_path / "in.csv"
    frame = pd.DataFrame(
        {
            "device_id": [f"{i:03d}" for i in range(400)],
            "event_time": "2024-01-01T00:00:00Z",
            "flow": flow,
            "ok": ["true", "false"] * 200,
            "note": ["NA", "", "None", 'x, "quoted"', "null"] * 80,
        }
    )
    frame.to_csv(path, index=False)
    path.write_text(path.read_text().replace("\n", "\n\n", 3))  # blank lines in between
    rows = rows_of(list(read_chunks(path, 100)))
    whole = read_records(path)
    assert [r["flow"] for r in rows] == flow.tolist()
    assert [r["device_id"] for r in rows] == whole["device_id"].tolist()
    assert [r["ok"] for r in rows] == whole["ok"].tolist()
    assert [r["note"] for r in rows] == [None, None, None, 'x, "quoted"', None] * 80
    assert whole["note"].isna().tolist() == [n is None for n in (r["note"] for r in rows)]


def test_dates_and_times_stay_text_as_pandas_reads_them(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("event_time,day,at\n2024-01-01T00:00:00Z,2024-01-01,12:00\n")
    [row] = rows_of(list(read_chunks(path, 10)))
    assert row == {"event_time": "2024-01-01T00:00:00Z", "day": "2024-01-01", "at": "12:00"}


def test_a_column_a_later_block_does_not_fit_is_widened(tmp_path: Path) -> None:
    """Types come from the first megabyte; a later value that does not fit widens its column
    (whole numbers to floats, empty to text) and the file is read on from where it stood."""
    lines = ["event_time,count,kind"]
    lines += [f"2024-01-01T00:00:00Z,{i}," for i in range(60_000)]
    lines += ["2024-01-01T00:00:01Z,1.5,spike", "2024-01-01T00:00:02Z,2,"]
    path = tmp_path / "in.csv"
    path.write_text("\n".join(lines) + "\n")
    rows = rows_of(list(read_chunks(path, 1_000)))
    assert len(rows) == 60_002
    assert [r["count"] for r in rows[:3]] == [0, 1, 2]
    assert rows[-2] == {"event_time": "2024-01-01T00:00:01Z", "count": 1.5, "kind": "spike"}
    assert rows[-1]["count"] == 2
    assert [r["count"] for r in rows[:60_000]] == list(range(60_000))  # none lost or repeated


def test_quoted_values_may_span_lines(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text('event_time,note\n2024-01-01T00:00:00Z,"two\nlines"\n2024-01-01T00:00:01Z,x\n')
    assert [r["note"] for r in rows_of(list(read_chunks(path, 10)))] == ["two\nlines", "x"]


def test_csv_record_line_skips_blank_lines_and_quoted_line_breaks(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text('t,note\n\n1,"a\n\nb"\n\n2,c\n3,d\n')
    assert [csv_record_line(path, row) for row in range(3)] == [3, 7, 8]
    assert csv_record_line(path, 10) == 12  # past the end: as if every line were a record


def test_parquet_chunks_leave_out_pandas_index_columns(tmp_path: Path) -> None:
    frame = pd.DataFrame({"event_time": pd.date_range("2024-01-01", periods=50, tz="UTC")})
    frame["v"] = np.arange(50) / 3
    path = tmp_path / "in.parquet"
    frame[frame.v > 1].to_parquet(path)  # a filtered frame: its index is stored as a column
    chunks = list(read_chunks(path, 20))
    assert [c.rows for c in chunks] == [20, 20, 6]
    assert list(chunks[0].columns) == ["event_time", "v"]
    assert [r["v"] for r in rows_of(chunks)] == (np.arange(4, 50) / 3).tolist()


def test_jsonl_chunks_keep_values_and_lines(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(
        '{"t": 1, "v": 1.5}\n\n{"t": 2, "v": NaN}\n'
        '{"t": 3, "v": "text", "extra": {"nested": [1, 2]}}\n'
        '{"t": 4, "big": 123456789012345678901234567890}\n'
    )
    first, second = read_chunks(path, 2)
    assert rows_of([first]) == [{"t": 1, "v": 1.5}, {"t": 2, "v": None}]
    assert first.line_of(1) == 3
    rows = rows_of([second])
    assert rows[0] == {"t": 3, "v": "text", "extra": {"nested": [1, 2]}, "big": None}
    assert rows[1]["big"] == 123456789012345678901234567890
    assert second.line_of(1) == 5


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        ("in.jsonl", '{"t": 1}\n{"t": \n', r"in\.jsonl:2: invalid JSON"),
        ("in.jsonl", '{"t": 1}\n[1, 2]\n', r"in\.jsonl:2: each line must be a JSON object"),
        ("in.csv", "a,b\n1,2\n1,2,3\n", r"in\.csv:3: cannot read csv: CSV parse error"),
        ("in.csv", "", r"in\.csv: cannot read csv: Empty CSV file"),
        ("in.csv", "a,a\n1,2\n", r"in\.csv: column 'a' appears twice"),
        ("in.parquet", "not parquet", r"in\.parquet: cannot read parquet"),
        ("in.xlsx", "x", r"in\.xlsx: unsupported format"),
    ],
)
def test_bad_files_are_one_line_naming_file_and_line(
    tmp_path: Path, name: str, text: str, problem: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InputFileError, match=problem) as info:
        list(read_chunks(path, 10))
    assert "\n" not in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match=r"missing\.csv: file not found"):
        read_chunks(tmp_path / "missing.csv", 10)


@pytest.mark.parametrize(
    "values",
    [
        ["2024-01-01T00:00:00Z", "2024-01-01T00:00:10.250Z", "2024-01-01T02:00:00+02:00"],
        ["2024-01-01T00:00:00", "2024-01-01 01:30:00.250", "2024-01-01"],  # naive: UTC
        ["2024-01-01T00:00:00.123456Z", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z"],
        [1_704_067_200, 1_704_067_210, 1_704_067_220],
        [1_704_067_200_000, 1_704_067_210_250, 1_704_067_220_000],
        [1_704_067_200.5, 1_704_067_210.0, 1_704_067_220.0],
    ],
)
def test_chunk_times_read_as_parse_times_reads(tmp_path: Path, values: list[object]) -> None:
    path = tmp_path / "in.csv"
    pd.DataFrame({"t": values}).to_csv(path, index=False)
    [chunk] = read_chunks(path, 10)
    expected = parse_times(read_records(path), "t", path)
    assert chunk_times(chunk, "t").tolist() == expected.array.asi8.tolist()


def test_chunk_times_of_parquet_timestamps(tmp_path: Path) -> None:
    path = tmp_path / "in.parquet"
    stamps = pd.to_datetime(["2024-01-01T00:00:00.0019", "1969-12-31T23:59:59.9999"])
    pd.DataFrame({"t": stamps}).to_parquet(path)  # naive, in nanoseconds: UTC, floored to ms
    [chunk] = read_chunks(path, 10)
    assert chunk_times(chunk, "t").tolist() == [1_704_067_200_001, -1]


def test_an_unparseable_time_names_its_line_in_any_chunk(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    lines = ["device_id,t"] + [f"d,2024-01-01T00:00:{i % 60:02d}Z" for i in range(5000)]
    lines[4321] = "d,noon"
    path.write_text("\n\n".join(lines) + "\n")  # blank lines between all records
    with pytest.raises(InputFileError) as info:
        for chunk in read_chunks(path, 100):
            chunk_times(chunk, "t")
    assert str(info.value) == f"{path}:{2 * 4321 + 1}: unparseable time in 't': 'noon'"


def test_a_missing_time_is_reported_as_pandas_reports_it(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("t,v\n2024-01-01T00:00:00Z,1\n,2\n")
    [chunk] = read_chunks(path, 10)
    with pytest.raises(InputFileError, match=r"in\.csv:3: unparseable time in 't': nan"):
        chunk_times(chunk, "t")
    with pytest.raises(InputFileError, match=r"no time field 'x' \(columns: t, v\)"):
        chunk_times(chunk, "x")


def test_json_lines_values_arrow_cannot_hold_stay_python(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(json.dumps({"t": i, "v": [i] if i else "x"}) for i in range(3)))
    [chunk] = read_chunks(path, 10)
    assert chunk.columns["v"] == ["x", [1], [2]]
    assert isinstance(chunk.columns["t"], pa.Array)
