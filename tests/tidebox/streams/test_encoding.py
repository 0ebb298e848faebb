"""Unit tests of tidebox.streams.encoding: the JSON of every row is byte for byte what orjson
writes for the row as a dict, though it is built a column at a time."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pytest

from tidebox.streams.encoding import (
    encode_records,
    iso_times,
    json_objects,
    json_texts,
    key_bytes,
)


def reference(frame: pd.DataFrame, zoneless: Collection[str] = ()) -> list[bytes]:
    """Each row as orjson writes its dict: times as ISO-8601 UTC text to the millisecond (with
    a Z unless zoneless), missing values as None."""
    columns: dict[str, list[Any]] = {}
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_datetime64_any_dtype(column):
            utc = pd.to_datetime(column, utc=True)
            text = utc.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str.slice(0, 23)
            text = text + ("" if name in zoneless else "Z")
            columns[name] = text.where(utc.notna(), None).tolist()
        else:
            missing = column.isna().tolist()
            values = column.tolist()
            columns[name] = [None if gone else v for v, gone in zip(values, missing, strict=True)]
    names = list(columns)
    return [
        orjson.dumps(dict(zip(names, row, strict=True)), option=orjson.OPT_SERIALIZE_NUMPY)
        for row in zip(*columns.values(), strict=True)
    ]


def mixed_frame(rows: int = 3000) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    ms = rng.integers(-2_000_000_000_000, 4_000_000_000_000, rows)
    return pd.DataFrame(
        {
            "device_id": pd.array([f"d{i % 7}" if i % 11 else None for i in range(rows)], "string"),
            "event_time": pd.Series(pd.to_datetime(ms, unit="ms", utc=True)),
            "f": np.where(
                rng.random(rows) < 0.1,
                np.nan,
                rng.normal(0, 1e3, rows) * 10.0 ** rng.integers(-30, 30, rows),
            ),
            "i": rng.integers(-(10**12), 10**12, rows),
            "b": rng.random(rows) < 0.5,
            "text": [
                None if i % 5 == 0 else ('q"b\\\n\x01' if i % 7 == 0 else f"é{i}")
                for i in range(rows)
            ],
            "mixed": [i if i % 3 else "s" for i in range(rows)],
            "naive": pd.to_datetime(rng.integers(0, 4_000_000_000_000_000, rows), unit="us"),
            "f32": rng.normal(size=rows).astype(np.float32),
            "nested": [{"a": i, "b": [1, 2]} if i % 2 else None for i in range(rows)],
            "category": pd.Categorical([f"c{i % 3}" for i in range(rows)]),
            "nullable": pd.array([i if i % 4 else None for i in range(rows)], dtype="Int64"),
        }
    )


@pytest.mark.parametrize("zoneless", [set(), {"naive"}])
def test_rows_are_what_orjson_writes_for_each_row(zoneless: set[str]) -> None:
    frame = mixed_frame()
    encoded = list(encode_records(frame, "event_time", "device_id", zoneless))
    assert [value for _, value, _ in encoded] == reference(frame, zoneless)
    expected_ms = (frame.event_time - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(milliseconds=1)
    assert [ms for _, _, ms in encoded] == expected_ms.tolist()


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("device_id", [b"d1", b"d2", None]),
        ("i", [b"1", b"-2", b"3"]),
        ("f", [b"0.1", None, b"2.0"]),
        ("b", [b"True", b"False", b"True"]),
        ("seen_at", [b"2024-05-01T10:00:00.123Z", None, b"1969-12-31T23:59:59.999Z"]),
    ],
)
def test_keys_are_the_values_as_text(field: str, expected: list[bytes | None]) -> None:
    frame = pd.DataFrame(
        {
            "device_id": ["d1", "d2", None],
            "i": [1, -2, 3],
            "f": [0.1, np.nan, 2.0],
            "b": [True, False, True],
            "seen_at": pd.to_datetime(
                ["2024-05-01T10:00:00.1239", None, "1969-12-31T23:59:59.9999"], utc=True
            ),
        }
    )
    frame["t"] = pd.Timestamp(0, tz="UTC")
    assert [key for key, _, _ in encode_records(frame, "t", field)] == expected


def test_iso_times_over_the_whole_range() -> None:
    """As pandas writes them (years 1000-9999), and numpy (any year from 1: zero-padded)."""
    rng = np.random.default_rng(3)
    ms = np.concatenate(
        [
            rng.integers(-62_135_596_800_000, 253_402_300_799_999, 20_000),  # years 1-9999
            np.repeat(rng.integers(0, 4_000_000_000_000, 50), 200),  # runs of one time
            [0, -1, 951_782_400_000, 4_107_542_400_000],  # epoch, 2000-02-29, 2100-03-01
        ]
    )
    stamps = ms.astype("datetime64[ms]")
    texts = iso_times(pa.array(ms, pa.timestamp("ms", tz="UTC"))).to_pylist()
    assert [t.decode() for t in texts] == np.datetime_as_string(stamps, unit="ms").tolist()
    modern = stamps >= np.datetime64("1000-01-01")
    by_pandas = pd.Series(stamps[modern]).dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str.slice(0, 23)
    assert [t.decode() for t, m in zip(texts, modern, strict=True) if m] == by_pandas.tolist()


def test_every_character_is_escaped_as_orjson_escapes_it() -> None:
    text = [chr(c) for c in range(0x250)] + ["\u2028", "\U0001f600", "a\tb", ""]
    column = pa.array([*text, None])
    assert json_texts(column).to_pylist() == [orjson.dumps(t) + b"," for t in text] + [b"null,"]


@pytest.mark.parametrize(
    "column",
    [
        pa.array([1.5, None, float("nan"), 1e-7, 1e20, 5e-324, -0.0, 20.0]),
        pa.array([1, None, -(2**63)], pa.int64()),
        pa.array([2**64 - 1, 0], pa.uint64()),
        pa.array([True, None, False]),
        pa.array([None, None], pa.null()),
        pa.array(["a", "b", "a", None]).dictionary_encode(),
        pa.array([[1, 2], None, []]),
        pa.array(["x" * 10, None], pa.large_string()),
    ],
    ids=["float", "int", "uint", "bool", "null", "dictionary", "list", "large_string"],
)
def test_arrow_columns_are_written_as_orjson_writes_their_values(column: pa.Array) -> None:
    expected = [orjson.dumps(v) + b"}" for v in column.to_pylist()]
    assert json_texts(column, end=b"}").to_pylist() == expected


def test_json_objects_with_absent_and_python_columns() -> None:
    columns = {"a": pa.array([1, 2]), "gone": None, "odd": [{"x": [1]}, 2**70]}
    assert json_objects(columns, 2).to_pylist() == [
        b'{"a":1,"gone":null,"odd":{"x":[1]}}',
        b'{"a":2,"gone":null,"odd":1180591620717411303424}',
    ]
    assert json_objects({"gone": None}, 2).to_pylist() == [b'{"gone":null}'] * 2
    assert json_objects({}, 1).to_pylist() == [b"{}"]


def test_keys_of_python_values() -> None:
    assert key_bytes([1, None, float("nan"), "x"]).to_pylist() == [b"1", None, None, b"x"]
