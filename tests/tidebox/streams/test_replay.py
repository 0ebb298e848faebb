"""Replay into the real broker: event-time order per key, every record exactly once, pacing."""

from __future__ import annotations

import json
import time
import tracemalloc
from collections import defaultdict
from pathlib import Path

import orjson
import pandas as pd
import pyarrow as pa
import pytest

from tests.support import read_stream, readings_spec, unique, with_stream
from tidebox.core.errors import InputFileError, KafkaUnavailableError, TideboxError
from tidebox.core.settings import Settings
from tidebox.streams.admin import list_streams, shard_offsets
from tidebox.streams.generate import GenerateSpec, generate_frame, write_dataset
from tidebox.streams.replay import ReplayOptions, replay
from tidebox.streams.shards import KeyRouter

pytestmark = pytest.mark.integration

SMALL = GenerateSpec(devices=4, hours=0.25, interval_seconds=5, seed=7)


def sensor_stream(settings: Settings, shards: int = 3) -> tuple[Settings, str]:
    """Settings that declare a fresh stream shaped like sensor_readings."""
    spec = readings_spec(settings, "readings", shards)
    return with_stream(settings, spec), spec.name


def read_back(settings: Settings, stream: str) -> list[tuple[int, bytes | None, dict, int]]:
    """Every record of the stream as (partition, key, value, timestamp), partition by partition."""
    return [
        (r.partition, r.key, json.loads(r.value), r.timestamp)
        for r in read_stream(settings, stream)
    ]


def read_values_fast(settings: Settings, stream: str) -> list[bytes]:
    """Every record's value, shard by shard, read with librdkafka (kafka-python reads 300,000
    records in about ten seconds here)."""
    from confluent_kafka import TopicPartition

    from tidebox.core.clients import make_fast_consumer

    ends = shard_offsets(settings, stream)
    consumer = make_fast_consumer(settings, **{"group.id": unique("reader")})
    values: list[bytes] = []
    try:
        consumer.assign([TopicPartition(stream, p, lo) for p, (lo, _) in ends.items()])
        left = {p: hi - lo for p, (lo, hi) in ends.items()}
        deadline = time.monotonic() + 60
        while any(left.values()):
            messages = consumer.consume(num_messages=100_000, timeout=0.5)
            assert time.monotonic() < deadline, f"reading {stream!r} stalled: {left} left"
            for message in messages:
                if message.error() is None:
                    values.append(message.value())
                    left[message.partition()] -= 1
    finally:
        consumer.close()
    return values


def test_replay_keeps_event_time_order_per_key_and_sends_each_record_once(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    settings, stream = sensor_stream(kafka_settings)
    data = write_dataset(SMALL, tmp_path / "readings.csv")
    result = replay(settings, [data.path], stream)
    assert result.events == data.rows

    records = read_back(settings, stream)
    assert len(records) == data.rows
    seen = {(v["device_id"], v["event_time"]) for _, _, v, _ in records}
    assert len(seen) == data.rows  # no record twice, none missing

    frame = generate_frame(SMALL)
    expected = {
        (d, t.strftime("%Y-%m-%dT%H:%M:%S.000Z"))
        for d, t in zip(frame.device_id, frame.event_time, strict=True)
    }
    assert seen == expected
    exact = {
        (d, t.strftime("%Y-%m-%dT%H:%M:%S.000Z")): (temp, anomaly)
        for d, t, temp, anomaly in zip(
            frame.device_id, frame.event_time, frame.temperature, frame.anomaly_type, strict=True
        )
    }
    for _, _, v, _ in records:  # values arrive exactly, missing ones as null
        assert (v["temperature"], v["anomaly_type"]) == exact[(v["device_id"], v["event_time"])]

    per_key: dict[bytes, list[str]] = defaultdict(list)
    partition_of: dict[bytes, set[int]] = defaultdict(set)
    for partition, key, value, timestamp in records:
        assert key == value["device_id"].encode()
        # Kafka stamps arrival time (retention counts from it); the event time is in the record
        assert abs(timestamp / 1000 - time.time()) < 600
        per_key[key].append(value["event_time"])
        partition_of[key].add(partition)
    for key, times in per_key.items():
        assert times == sorted(times), f"{key!r} out of event-time order"
        assert len(partition_of[key]) == 1


def test_several_files_are_merged_by_event_time(kafka_settings: Settings, tmp_path: Path) -> None:
    settings, stream = sensor_stream(kafka_settings, shards=1)
    frame = generate_frame(SMALL)
    evens = frame[frame.device_id.isin(["dev-001", "dev-003"])]
    odds = frame[frame.device_id.isin(["dev-002", "dev-004"])]
    evens.to_parquet(tmp_path / "a.parquet")
    odds.assign(event_time=odds.event_time.dt.strftime("%Y-%m-%dT%H:%M:%S.000Z")).to_json(
        tmp_path / "b.jsonl", orient="records", lines=True
    )
    result = replay(settings, [tmp_path / "a.parquet", tmp_path / "b.jsonl"], stream)
    assert result.events == len(frame)
    times = [v["event_time"] for _, _, v, _ in read_back(settings, stream)]
    assert times == sorted(times)  # one shard: the whole stream is in event-time order


def test_rate_cap_and_speedup_pace_the_replay(kafka_settings: Settings, tmp_path: Path) -> None:
    settings, stream = sensor_stream(kafka_settings, shards=1)
    data = write_dataset(
        GenerateSpec(devices=1, hours=0.01, interval_seconds=1), tmp_path / "r.csv"
    )
    # 36 readings one second apart: at 20x real time that is 35 s / 20 = 1.75 s
    started = time.monotonic()
    replay(settings, [data.path], stream, ReplayOptions(speedup=20))
    assert time.monotonic() - started >= 1.6
    started = time.monotonic()
    replay(settings, [data.path], stream, ReplayOptions(rate=30))
    assert time.monotonic() - started >= 35 / 30 - 0.05


def test_loop_repeats_the_data_later_in_event_time(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    settings, stream = sensor_stream(kafka_settings, shards=1)
    data = write_dataset(
        GenerateSpec(devices=2, hours=0.01, interval_seconds=6), tmp_path / "l.csv"
    )
    limit = data.rows * 2 + 3
    result = replay(settings, [data.path], stream, ReplayOptions(loop=True, limit=limit))
    assert result.events == limit
    times = [v["event_time"] for _, _, v, _ in read_back(settings, stream)]
    assert len(times) == limit
    assert len(set(zip(times, range(limit), strict=True))) == limit
    assert times == sorted(times)
    assert result.last_event_time is not None and result.first_event_time is not None
    assert result.last_event_time - result.first_event_time > data.end - data.start


def test_bad_input_is_reported_before_anything_is_sent(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    settings, stream = sensor_stream(kafka_settings, shards=1)
    bad = tmp_path / "bad.csv"
    bad.write_text("device_id,event_time,temperature\nd1,2026-01-01T00:00:00Z,1\nd1,yesterday,2\n")
    with pytest.raises(InputFileError, match=r"bad\.csv:3: unparseable time in 'event_time'"):
        replay(settings, [bad], stream)
    with pytest.raises(InputFileError, match="file not found"):
        replay(settings, [tmp_path / "missing.csv"], stream)
    with pytest.raises(TideboxError, match="unknown stream 'not_declared'"):
        replay(settings, [write_dataset(SMALL, tmp_path / "ok.csv").path], "not_declared")
    with pytest.raises(TideboxError, match="--rate must be positive"):
        replay(settings, [bad], stream, ReplayOptions(rate=0))
    assert stream not in list_streams(settings)  # failed before the stream was even made


def test_each_key_goes_to_the_shard_kinesis_would_pick(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    """The shard whose hash-key range holds MD5(key), as boto3 or the AWS CLI would put it."""
    settings, stream = sensor_stream(kafka_settings, shards=4)
    data = write_dataset(
        GenerateSpec(devices=60, hours=0.05, interval_seconds=30), tmp_path / "fleet.csv"
    )
    replay(settings, [data.path], stream)
    records = read_back(settings, stream)
    assert len(records) == data.rows
    route = KeyRouter(4)
    assert {key: partition for partition, key, _, _ in records} == {
        key: route(key) for _, key, _, _ in records
    }
    assert len({partition for partition, _, _, _ in records}) == 4  # 60 keys: every shard


@pytest.mark.slow
def test_a_file_of_many_chunks_replays_whole_in_bounded_memory(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    """A file much larger than the chunk size: every record arrives once and in event-time
    order per key, while the Python heap and Arrow's memory stay within a few chunks (the
    records' JSON alone is about 57 MB)."""
    settings, stream = sensor_stream(kafka_settings, shards=2)
    data = write_dataset(
        GenerateSpec(devices=300, hours=1000 * 10 / 3600, interval_seconds=10, seed=3),
        tmp_path / "large.csv",
    )
    assert data.rows == 300_000
    arrow_most = 0
    progressed = 0

    def progress(count: int) -> None:
        nonlocal arrow_most, progressed
        progressed += count
        arrow_most = max(arrow_most, pa.total_allocated_bytes())

    tracemalloc.start()
    try:
        result = replay(settings, [data.path], stream, ReplayOptions(chunk_rows=2000), progress)
        _, python_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.events == progressed == data.rows
    assert python_peak < 5 * 2**20, f"Python heap peaked at {python_peak / 2**20:.1f} MB"
    assert arrow_most < 16 * 2**20, f"Arrow held {arrow_most / 2**20:.1f} MB"

    values = read_values_fast(settings, stream)
    assert len(values) == data.rows
    readings = [orjson.loads(v) for v in values]
    assert len({(r["device_id"], r["event_time"]) for r in readings}) == data.rows
    per_key: dict[str, list[str]] = defaultdict(list)
    for reading in readings:
        per_key[reading["device_id"]].append(reading["event_time"])
    assert all(times == sorted(times) for times in per_key.values())


def test_records_kafka_refuses_are_counted_and_reported(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    """Replay returns only when every record is acknowledged: a record the broker refuses (here
    larger than the stream's max.message.bytes) is an error naming how many were lost."""
    from kafka.admin import NewTopic

    from tidebox.core.clients import make_admin

    stream = unique("tiny_records")
    admin = make_admin(kafka_settings)
    try:
        admin.create_topics([NewTopic(stream, 1, 1, topic_configs={"max.message.bytes": "200"})])
    finally:
        admin.close()
    data = tmp_path / "wide.jsonl"
    data.write_text('{"t": 1, "k": "a", "note": "' + "x" * 400 + '"}\n')
    options = ReplayOptions(time_field="t", key_field="k")
    with pytest.raises(KafkaUnavailableError, match="1 of 1 records were not acknowledged"):
        replay(kafka_settings, [data], stream, options)


def test_time_and_key_fields_can_be_named(kafka_settings: Settings, tmp_path: Path) -> None:
    from tidebox.streams.admin import create_stream

    stream = unique("machines")
    create_stream(kafka_settings, stream, shards=2)  # undeclared: no schema, no defaults
    data = tmp_path / "machines.jsonl"
    data.write_text(
        '{"machine": "press-2", "ts": 1767225605000, "rpm": 1200.5}\n'
        '{"machine": "press-1", "ts": 1767225600000, "rpm": 980.0}\n'
        '{"machine": "press-1", "ts": 1767225610000, "rpm": null}\n'
    )
    options = ReplayOptions(time_field="ts", key_field="machine")
    assert replay(kafka_settings, [data], stream, options).events == 3
    records = sorted(read_back(kafka_settings, stream), key=lambda r: r[2]["ts"])
    assert [(r[1], r[2]["ts"], r[2]["rpm"]) for r in records] == [
        (b"press-1", "2026-01-01T00:00:00.000Z", 980.0),
        (b"press-2", "2026-01-01T00:00:05.000Z", 1200.5),
        (b"press-1", "2026-01-01T00:00:10.000Z", None),
    ]
    with pytest.raises(InputFileError, match="no key field 'owner'"):
        replay(kafka_settings, [data], stream, ReplayOptions(time_field="ts", key_field="owner"))


def test_times_of_a_timestamp_column_without_zone_are_written_without_z() -> None:
    """Flink's JSON format reads a TIMESTAMP from ISO-8601 text without a zone and a
    TIMESTAMP_LTZ from text ending in Z; replay writes each as its stream declares it."""
    from tidebox.streams.replay import encode_records, without_zone

    columns = {"at": "TIMESTAMP(3)", "seen": "TIMESTAMP_LTZ(3)", "v": "DOUBLE"}
    assert without_zone(columns) == {"at"}
    when = pd.Timestamp("2024-05-01T10:00:00.123", tz="UTC")
    frame = pd.DataFrame({"at": [when], "seen": [when], "v": [1.5]})
    [(_, value, ms)] = list(encode_records(frame, "at", None, without_zone(columns)))
    assert value == (b'{"at":"2024-05-01T10:00:00.123","seen":"2024-05-01T10:00:00.123Z","v":1.5}')
    assert ms == when.value // 1_000_000
