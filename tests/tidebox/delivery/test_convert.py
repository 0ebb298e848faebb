"""Record format conversion: JSON to typed Arrow, as the OpenX SerDe reads, failures isolated."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pyarrow as pa

from tidebox.delivery.convert import MALFORMED, MISMATCH, Converter, arrow_schema, arrow_type

COLUMNS = {
    "device_id": "STRING",
    "event_time": "TIMESTAMP_LTZ(3)",
    "temperature": "DOUBLE",
    "count": "INT",
    "ok": "BOOLEAN",
}


def converter(case_insensitive: bool = True) -> Converter:
    return Converter(arrow_schema(COLUMNS), case_insensitive)


def record(**fields: object) -> bytes:
    return json.dumps(fields).encode()


def test_types_follow_the_schema() -> None:
    assert arrow_type("TIMESTAMP(3)") == pa.timestamp("ms", tz="UTC")
    assert arrow_type("BIGINT") == pa.int64()
    assert arrow_type("VARCHAR(20)") == pa.string()
    values = [
        record(device_id="d1", event_time="2026-01-01T00:00:00.250Z", temperature=20, count=3),
        record(device_id="d2", event_time="2026-01-01T01:00:00Z", ok=True, extra={"x": 1}),
    ]
    result = converter().convert(values)
    assert result.failed == [] and result.rows == [0, 1]
    assert result.table.schema == arrow_schema(COLUMNS)
    first = result.table.to_pylist()[0]
    assert first["event_time"] == datetime(2026, 1, 1, 0, 0, 0, 250000, tzinfo=UTC)
    assert first["temperature"] == 20.0 and first["ok"] is None  # missing keys are nulls


def test_keys_match_columns_in_any_case_unless_told_otherwise() -> None:
    values = [record(DEVICE_ID="d1", Temperature=21.5), record(device_id="d2", temperature=1.0)]
    table = converter().convert(values).table
    assert table.column("device_id").to_pylist() == ["d1", "d2"]
    assert table.column("temperature").to_pylist() == [21.5, 1.0]
    strict = converter(case_insensitive=False).convert(values).table
    assert strict.column("device_id").to_pylist() == [None, "d2"]


def test_lenient_values_convert_as_the_openx_serde_does() -> None:
    values = [
        record(device_id=17, event_time=1767225600000, temperature="21.5", count="4", ok="true"),
    ]
    row = converter().convert(values).table.to_pylist()[0]
    assert row == {
        "device_id": "17",
        "event_time": datetime(2026, 1, 1, tzinfo=UTC),
        "temperature": 21.5,
        "count": 4,
        "ok": True,
    }


def test_records_that_cannot_convert_are_isolated_with_their_reason() -> None:
    good = [record(device_id=f"d{i}", temperature=float(i)) for i in range(50)]
    values = [*good[:10], b"{not json", *good[10:30], record(temperature="hot"), *good[30:]]
    values.insert(5, b"[1, 2]")
    result = converter().convert(values)
    assert len(result.rows) == 50 and result.table.num_rows == 50
    assert [(i, code) for i, code, _ in result.failed] == [
        (5, MALFORMED),
        (11, MALFORMED),
        (32, MISMATCH),
    ]
    assert "column 'temperature'" in result.failed[2][2]
    assert result.table.column("device_id").to_pylist() == [f"d{i}" for i in range(50)]


def test_records_spanning_lines_still_convert() -> None:
    pretty = json.dumps({"device_id": "d1", "temperature": 2.0}, indent=2).encode()
    result = converter().convert([pretty, record(device_id="d2")])
    assert result.table.column("device_id").to_pylist() == ["d1", "d2"]


def test_without_a_schema_columns_are_inferred() -> None:
    from tidebox.delivery.convert import InferringConverter

    values = [record(a=1, b="x"), b"oops", record(a=2, c=True), record(a="clash")]
    result = InferringConverter().convert(values)
    assert result.rows == [0, 2] and [i for i, _, _ in result.failed] == [1, 3]
    assert result.table.to_pylist() == [
        {"a": 1, "b": "x", "c": None},
        {"a": 2, "b": None, "c": True},
    ]
    fast = InferringConverter().convert([record(a=1), record(a=2, b="y")])
    assert fast.rows == [0, 1] and fast.table.column("a").to_pylist() == [1, 2]
