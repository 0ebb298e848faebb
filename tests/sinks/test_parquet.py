"""Unit tests of sinks.parquet.ParquetSink: layout, naming, schema, progress and error output."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sinks.parquet import ParquetSink, arrow_type
from tidebox.config import DEFAULT_STREAMS, StreamSpec

SPEC: StreamSpec = next(s for s in DEFAULT_STREAMS if s.name == "sensor_readings")
STREAM = "sensor_readings"
JAN1_10H_MS = 1_704_103_200_000  # 2024-01-01T10:00:00Z


def reading(event_time: str | None, device: str = "d-001", **extra: Any) -> bytes:
    record: dict[str, Any] = {
        "device_id": device,
        "temperature": 21.5,
        "humidity": 40.0,
        "vibration": 1.25,
        "battery": 99.0,
        "is_anomaly": False,
        "anomaly_type": None,
        "anomaly_sensor": None,
        **extra,
    }
    if event_time is not None:
        record["event_time"] = event_time
    return json.dumps(record).encode()


def files_under(root: Path) -> list[str]:
    """Every landed file below root (progress records left out), as sorted relative paths."""
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and "_progress" not in p.parts
    )


def part(partition: int, first: int, last: int) -> str:
    return f"part-p{partition:03d}-{first:012d}-{last:012d}.parquet"


@pytest.fixture
def bucket(tmp_path: Path) -> Path:
    return tmp_path / "bucket"


@pytest.fixture
def sink(bucket: Path) -> ParquetSink:
    return ParquetSink(bucket, STREAM, SPEC)


def fill_two_partitions_two_hours(sink: ParquetSink) -> None:
    sink.add(reading("2024-01-01T23:05:00.000Z"), partition=0, offset=10, timestamp_ms=0)
    sink.add(reading("2024-01-01T23:59:59.999Z"), partition=0, offset=11, timestamp_ms=0)
    sink.add(reading("2024-01-02T00:00:00.000Z"), partition=0, offset=12, timestamp_ms=0)
    sink.add(reading("2024-01-01T23:30:00Z", "d-002"), partition=1, offset=3, timestamp_ms=0)
    sink.add(reading("2024-01-02T00:45:00Z", "d-002"), partition=1, offset=4, timestamp_ms=0)


# -- layout and naming ---------------------------------------------------------------------------


def test_flush_writes_one_file_per_partition_and_hour(bucket: Path, sink: ParquetSink) -> None:
    fill_two_partitions_two_hours(sink)
    assert sink.buffered() == 5

    commit = sink.flush()

    assert commit == {0: 13, 1: 5}
    assert files_under(bucket) == sorted(
        [
            f"sensor_readings/dt=2024-01-01/hour=23/{part(0, 10, 11)}",
            f"sensor_readings/dt=2024-01-01/hour=23/{part(1, 3, 3)}",
            f"sensor_readings/dt=2024-01-02/hour=00/{part(0, 12, 12)}",
            f"sensor_readings/dt=2024-01-02/hour=00/{part(1, 4, 4)}",
        ]
    )
    assert sink.buffered() == 0
    assert sink.counters.records_in == 5
    assert sink.counters.rows_landed == 5
    assert sink.counters.errors == 0
    landed = {(f.partition, f.first_offset, f.last_offset, f.rows) for f in sink.counters.files}
    assert landed == {(0, 10, 11, 2), (0, 12, 12, 1), (1, 3, 3, 1), (1, 4, 4, 1)}
    assert all(f.bytes == f.path.stat().st_size for f in sink.counters.files)


def test_hour_is_taken_in_utc(bucket: Path, sink: ParquetSink) -> None:
    sink.add(reading("2024-01-02T01:30:00+02:00"), partition=0, offset=0, timestamp_ms=0)
    sink.add(reading("2024-01-01T23:10:00"), partition=0, offset=1, timestamp_ms=0)  # naive
    sink.flush()
    assert files_under(bucket) == [f"sensor_readings/dt=2024-01-01/hour=23/{part(0, 0, 1)}"]


def test_no_hidden_temporary_files_remain(bucket: Path, sink: ParquetSink) -> None:
    fill_two_partitions_two_hours(sink)
    sink.add(b"not json", partition=0, offset=13, timestamp_ms=0)
    sink.flush()
    names = [p.name for p in bucket.rglob("*")]
    assert names
    assert not [n for n in names if n.startswith(".") or n.endswith(".tmp")]


def test_flush_with_nothing_buffered_writes_nothing(bucket: Path, sink: ParquetSink) -> None:
    assert sink.flush() == {}
    assert not bucket.exists()


def test_later_flushes_add_files_beside_earlier_ones(bucket: Path, sink: ParquetSink) -> None:
    sink.add(reading("2024-01-01T10:00:00Z"), partition=0, offset=0, timestamp_ms=0)
    assert sink.flush() == {0: 1}
    sink.add(reading("2024-01-01T10:01:00Z"), partition=0, offset=1, timestamp_ms=0)
    assert sink.flush() == {0: 2}
    assert files_under(bucket / STREAM / "dt=2024-01-01" / "hour=10") == [
        part(0, 0, 0),
        part(0, 1, 1),
    ]


# -- schema and values ---------------------------------------------------------------------------


def test_schema_follows_the_spec(sink: ParquetSink) -> None:
    sink.add(reading("2024-01-01T10:00:00.123Z"), partition=0, offset=0, timestamp_ms=0)
    sink.flush()
    [landed] = sink.counters.files
    assert pq.read_schema(landed.path).remove_metadata() == pa.schema(
        [
            ("device_id", pa.string()),
            ("event_time", pa.timestamp("ms", tz="UTC")),
            ("temperature", pa.float64()),
            ("humidity", pa.float64()),
            ("vibration", pa.float64()),
            ("battery", pa.float64()),
            ("is_anomaly", pa.bool_()),
            ("anomaly_type", pa.string()),
            ("anomaly_sensor", pa.string()),
        ]
    )
    [row] = pq.read_table(landed.path).to_pylist()
    assert row["event_time"] == datetime(2024, 1, 1, 10, 0, 0, 123000, tzinfo=UTC)
    assert row["temperature"] == 21.5
    assert row["is_anomaly"] is False


def test_missing_keys_become_nulls_and_extra_keys_are_dropped(sink: ParquetSink) -> None:
    record = {"device_id": "d-9", "event_time": "2024-01-01T10:00:00Z", "firmware": "1.2"}
    sink.add(json.dumps(record).encode(), partition=0, offset=0, timestamp_ms=0)
    sink.flush()
    table = pq.read_table(sink.counters.files[0].path)
    assert "firmware" not in table.column_names
    assert table.column_names == list(SPEC.columns)
    [row] = table.to_pylist()
    assert row["device_id"] == "d-9"
    assert all(row[c] is None for c in ("temperature", "battery", "is_anomaly", "anomaly_type"))


@pytest.mark.parametrize(
    ("sql_type", "arrow"),
    [
        ("STRING", pa.string()),
        ("TIMESTAMP(3)", pa.timestamp("ms", tz="UTC")),
        ("timestamp_ltz(3)", pa.timestamp("ms", tz="UTC")),
        ("DOUBLE", pa.float64()),
        ("BIGINT", pa.int64()),
        ("INT", pa.int32()),
        ("BOOLEAN", pa.bool_()),
        ("DECIMAL(10, 2)", pa.float64()),
        ("DATE", pa.date32()),
        ("MAP<STRING, STRING>", pa.string()),
    ],
)
def test_arrow_type(sql_type: str, arrow: pa.DataType) -> None:
    assert arrow_type(sql_type) == arrow


def test_stream_without_spec_infers_the_schema(bucket: Path) -> None:
    sink = ParquetSink(bucket, "clicks")
    sink.add(b'{"user": "u1", "n": 3, "ok": true}', partition=0, offset=0, timestamp_ms=JAN1_10H_MS)
    sink.add(
        b'{"user": "u2", "n": 4, "ok": false}', partition=0, offset=1, timestamp_ms=JAN1_10H_MS
    )
    assert sink.flush() == {0: 2}
    [landed] = sink.counters.files
    assert landed.path == bucket / "clicks" / "dt=2024-01-01" / "hour=10" / part(0, 0, 1)
    table = pq.read_table(landed.path)
    assert table.schema.field("user").type == pa.string()
    assert table.schema.field("n").type == pa.int64()
    assert table.schema.field("ok").type == pa.bool_()
    assert table.column("n").to_pylist() == [3, 4]


def test_partitioning_falls_back_to_the_kafka_timestamp(bucket: Path, sink: ParquetSink) -> None:
    sink.add(reading(None), partition=0, offset=0, timestamp_ms=JAN1_10H_MS + 59 * 60_000)
    sink.add(reading(None), partition=0, offset=1, timestamp_ms=JAN1_10H_MS + 60 * 60_000)
    sink.flush()
    assert files_under(bucket / STREAM) == [
        f"dt=2024-01-01/hour=10/{part(0, 0, 0)}",
        f"dt=2024-01-01/hour=11/{part(0, 1, 1)}",
    ]
    assert pq.read_table(sink.counters.files[0].path).column("event_time").to_pylist() == [None]


# -- progress on disk ----------------------------------------------------------------------------


def test_landed_offsets_are_the_recorded_next_offsets(bucket: Path, sink: ParquetSink) -> None:
    assert sink.landed_offsets() == {}
    fill_two_partitions_two_hours(sink)
    sink.flush()
    assert ParquetSink(bucket, STREAM, SPEC).landed_offsets() == {0: 13, 1: 5}
    assert files_under(bucket / "_progress" / STREAM) == []  # progress is not landed data
    assert sorted(p.name for p in (bucket / "_progress" / STREAM).iterdir()) == [
        "p000.json",
        "p001.json",
    ]


def test_a_flush_that_died_before_recording_progress_is_redone_exactly(
    bucket: Path, sink: ParquetSink
) -> None:
    """Files written by a flush that never recorded its progress are removed and rewritten."""
    for offset in range(10):
        sink.add(
            reading(f"2024-01-01T10:00:{offset:02d}Z"), partition=0, offset=offset, timestamp_ms=0
        )
    sink.flush()
    for offset in range(10, 20):  # this flush dies after its files, before its progress
        hour = 10 if offset % 2 else 11  # out of event-time order across two hours
        sink.add(
            reading(f"2024-01-01T{hour}:00:{offset:02d}Z"),
            partition=0,
            offset=offset,
            timestamp_ms=0,
        )
    sink._write_files()

    restarted = ParquetSink(bucket, STREAM, SPEC)
    start = restarted.landed_offsets()[0]
    assert start == 10
    removed = restarted.discard_incomplete(0, start)
    assert len(removed) == 2 and not any(part(0, 0, 9) in str(p) for p in removed)
    for first, last in ((10, 14), (15, 19)):  # redelivered in other batch sizes
        for offset in range(first, last + 1):
            hour = 10 if offset % 2 else 11
            restarted.add(
                reading(f"2024-01-01T{hour}:00:{offset:02d}Z"),
                partition=0,
                offset=offset,
                timestamp_ms=0,
            )
        restarted.flush()
    landed = pq.read_table(bucket / STREAM).column("event_time").to_pylist()
    assert len(landed) == len(set(landed)) == 20


# -- records that cannot be landed ---------------------------------------------------------------


def test_bad_records_go_to_the_error_folder(bucket: Path, sink: ParquetSink) -> None:
    sink.add(b"not json {", partition=0, offset=5, timestamp_ms=0)
    sink.add(reading("2024-01-01T10:00:00Z"), partition=0, offset=6, timestamp_ms=0)
    sink.add(b"[1, 2, 3]", partition=0, offset=7, timestamp_ms=0)
    sink.add(b'"just a string"', partition=1, offset=9, timestamp_ms=0)
    assert sink.buffered() == 4

    commit = sink.flush()

    # The bad records' offsets count: nothing is re-read after a restart.
    assert commit == {0: 8, 1: 10}
    assert sink.counters.errors == 3
    assert sink.counters.rows_landed == 1
    errors = bucket / "_errors" / STREAM
    assert files_under(errors) == [
        "part-p000-000000000005-000000000007.jsonl",
        "part-p001-000000000009-000000000009.jsonl",
    ]
    lines = [
        json.loads(line)
        for line in (errors / "part-p000-000000000005-000000000007.jsonl").read_text().splitlines()
    ]
    assert [(e["partition"], e["offset"], e["raw"]) for e in lines] == [
        (0, 5, "not json {"),
        (0, 7, "[1, 2, 3]"),
    ]
    assert all(e["error"] for e in lines)
    assert files_under(bucket / STREAM) == [f"dt=2024-01-01/hour=10/{part(0, 6, 6)}"]
    assert ParquetSink(bucket, STREAM, SPEC).landed_offsets() == {0: 8, 1: 10}


def test_unparseable_time_goes_to_the_error_folder(bucket: Path, sink: ParquetSink) -> None:
    sink.add(reading("not a time"), partition=0, offset=0, timestamp_ms=0)
    assert sink.flush() == {0: 1}
    assert sink.counters.errors == 1
    assert not (bucket / STREAM).exists()


@pytest.mark.parametrize(
    "bad",
    [
        reading("2024-01-01T10:00:01Z", temperature="hot"),
        reading("2024-01-01T10:00:01.123456Z"),
        json.dumps({"device_id": "d-1", "event_time": JAN1_10H_MS}).encode(),
    ],
    ids=["text-in-double-column", "sub-millisecond-time", "epoch-number-time"],
)
def test_a_record_that_does_not_fit_the_schema_does_not_break_flush(
    sink: ParquetSink, bad: bytes
) -> None:
    sink.add(reading("2024-01-01T10:00:00Z"), partition=0, offset=0, timestamp_ms=0)
    sink.add(bad, partition=0, offset=1, timestamp_ms=0)
    assert sink.flush() == {0: 2}
    assert sink.counters.rows_landed + sink.counters.errors == 2
