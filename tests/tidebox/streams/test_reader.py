"""Reading shards back from every position, and writing records that report their position."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.support import unique
from tidebox.core.errors import StreamNotFoundError, TideboxError
from tidebox.core.settings import Settings
from tidebox.streams.admin import create_stream
from tidebox.streams.reader import InvalidPositionError, Position, ShardReader
from tidebox.streams.writer import ShardWriter

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def reader(kafka_settings: Settings) -> Iterator[ShardReader]:
    shard_reader = ShardReader(kafka_settings)
    yield shard_reader
    shard_reader.close()


@pytest.fixture(scope="module")
def writer(kafka_settings: Settings) -> Iterator[ShardWriter]:
    shard_writer = ShardWriter(kafka_settings)
    yield shard_writer
    shard_writer.close()


def test_written_records_read_back_from_every_position(
    kafka_settings: Settings, reader: ShardReader, writer: ShardWriter
) -> None:
    name = unique("read")
    create_stream(kafka_settings, name, shards=2)
    assert writer.shards(name) == 2
    before = int(time.time() * 1000)
    first = [writer.send(name, 1, b"k", f"r{i}".encode()).result(30) for i in range(5)]
    assert [w.sequence for w in first] == [0, 1, 2, 3, 4] and {w.shard for w in first} == {1}
    time.sleep(0.01)  # the next records arrive strictly later than the first five
    middle = int(time.time() * 1000)
    later = [writer.send(name, 1, b"k", f"r{i}".encode()).result(30) for i in range(5, 8)]

    def read_from(position: Position, limit: int = 100) -> list[bytes]:
        start = reader.start_offset(name, 1, position)
        return [r.data for r in reader.read(name, 1, start, limit).records]

    assert read_from(Position("trim-horizon")) == [f"r{i}".encode() for i in range(8)]
    assert read_from(Position("latest")) == []
    assert read_from(Position("at-sequence", sequence=3)) == [b"r3", b"r4", b"r5", b"r6", b"r7"]
    assert read_from(Position("after-sequence", sequence=3), limit=2) == [b"r4", b"r5"]
    assert read_from(Position("at-timestamp", timestamp_ms=middle))[0] == b"r5"
    assert len(read_from(Position("at-timestamp", timestamp_ms=before - 60_000))) == 8
    assert read_from(Position("at-timestamp", timestamp_ms=middle + 3_600_000)) == []
    assert later[-1].sequence == 7

    batch = reader.read(name, 1, 0, limit=3)
    assert batch.next_sequence == 3 and not batch.at_end
    record = batch.records[0]
    assert (record.shard, record.sequence, record.key) == (1, 0, b"k")
    assert before - 5_000 <= record.arrival_ms <= before + 60_000
    assert reader.read(name, 0, 0).records == []  # the other shard is empty
    with pytest.raises(InvalidPositionError):
        reader.start_offset(name, 1, Position("at-sequence", sequence=8))
    with pytest.raises(TideboxError):
        Position("sideways").check()


def test_missing_stream(reader: ShardReader, writer: ShardWriter) -> None:
    with pytest.raises(StreamNotFoundError):
        reader.bounds(unique("absent"), 0)
    with pytest.raises(StreamNotFoundError):
        writer.shards(unique("absent"))


def test_only_committed_records_are_read(kafka_settings: Settings, reader: ShardReader) -> None:
    from confluent_kafka import Producer

    from tidebox.streams.reader import read_stream

    name = unique("txn")
    create_stream(kafka_settings, name, shards=1)
    producer = Producer(
        {"bootstrap.servers": kafka_settings.kafka_bootstrap, "transactional.id": name}
    )
    producer.init_transactions(30)
    for outcome in ("commit", "abort", "commit"):
        producer.begin_transaction()
        for i in range(3):
            producer.produce(name, f"{outcome}-{i}".encode(), b"k", partition=0)
        if outcome == "commit":
            producer.commit_transaction(30)
        else:
            producer.abort_transaction(30)
    records = list(read_stream(kafka_settings, name, Position("trim-horizon")))
    assert [r.data for r in records] == [f"commit-{i}".encode() for i in (0, 1, 2)] * 2
    sequences = [r.sequence for r in records]
    assert sequences == sorted(sequences) and sequences[3] - sequences[2] > 1  # markers skipped
    assert reader.read(name, 0, sequences[-1] + 1).records == []
