"""Streams in the Kinesis Data Streams sense, kept as Kafka topics.

A shard is a partition, a sequence number is an offset, and a record's partition key is its
Kafka key. Retention is the topic's ``retention.ms``. Streams tidebox creates stamp records
with their arrival time (``message.timestamp.type=LogAppendTime``), as Kinesis does with
ApproximateArrivalTimestamp: retention then counts from arrival, so replaying last year's
readings does not make Kafka delete them at its next retention check. The event time stays
in the record itself.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
from kafka.errors import TopicAlreadyExistsError

from tidebox.core.clients import make_admin, make_consumer, make_fast_consumer
from tidebox.core.errors import StreamExistsError, StreamNotFoundError, TideboxError
from tidebox.core.settings import Settings, StreamSpec
from tidebox.streams.metadata import forget, record_created

MS_PER_HOUR = 3_600_000


@dataclass(frozen=True)
class ShardInfo:
    """One shard: the sequence numbers (offsets) it holds now, and its committed records.

    ``latest - earliest`` is not the record count of a stream written in Kafka transactions
    (as exactly-once Flink jobs write): each commit also takes an offset for its marker, and
    aborted records take offsets too. ``records`` counts what a reader sees.
    """

    shard: int
    earliest: int
    latest: int
    records: int


@dataclass(frozen=True)
class StreamInfo:
    name: str
    retention_hours: float
    shards: tuple[ShardInfo, ...]

    @property
    def records(self) -> int:
        return sum(s.records for s in self.shards)


def list_streams(settings: Settings) -> list[str]:
    """Names of the user streams (internal topics such as __consumer_offsets left out)."""
    admin = make_admin(settings)
    try:
        return sorted(t for t in admin.list_topics() if not t.startswith("__"))
    finally:
        admin.close()


def create_stream(
    settings: Settings,
    stream: str | StreamSpec,
    shards: int | None = None,
    retention_hours: float | None = None,
    mode: str = "PROVISIONED",
    tags: Mapping[str, str] | None = None,
) -> StreamInfo:
    """Create a stream, named or given by its spec; shards and retention default to the spec
    (a name's is looked up in the settings), else 1 and 24 h. ``mode`` and ``tags`` are kept
    as Kinesis keeps them (see tidebox.streams.metadata)."""
    spec = settings.stream(stream) if isinstance(stream, str) else stream
    name = stream if isinstance(stream, str) else stream.name
    shards = shards if shards is not None else (spec.shards if spec else 1)
    hours = (
        retention_hours if retention_hours is not None else (spec.retention_hours if spec else 24.0)
    )
    if shards < 1:
        raise TideboxError(f"stream '{name}': --shards must be at least 1, got {shards}")
    if hours <= 0:
        raise TideboxError(f"stream '{name}': --retention-hours must be positive, got {hours}")
    admin = make_admin(settings)
    try:
        configs = {
            "retention.ms": str(int(hours * MS_PER_HOUR)),
            "message.timestamp.type": "LogAppendTime",
        }
        topic = NewTopic(name, shards, 1, topic_configs=configs)
        admin.create_topics([topic])
        # the broker's metadata follows its controller a moment later: wait until it lists
        # the new topic, so that the description below (and any next call) finds it
        deadline = time.monotonic() + 10.0
        while name not in admin.list_topics() and time.monotonic() < deadline:
            time.sleep(0.05)
    except TopicAlreadyExistsError as exc:
        raise StreamExistsError(name) from exc
    finally:
        admin.close()
    record_created(settings, name, mode, dict(tags or {}))
    return describe_stream(settings, name)


def ensure_stream(settings: Settings, stream: str | StreamSpec) -> None:
    """Create the stream (named, or given by its spec) unless it exists already."""
    name = stream if isinstance(stream, str) else stream.name
    if name not in list_streams(settings):
        with contextlib.suppress(StreamExistsError):
            create_stream(settings, stream)


def delete_stream(settings: Settings, name: str) -> None:
    admin = make_admin(settings)
    try:
        if name not in admin.list_topics():
            raise StreamNotFoundError(name)
        admin.delete_topics([name])
    finally:
        admin.close()
    forget(settings, name)


def stream_retention_hours(settings: Settings, name: str) -> float:
    """The stream's retention in hours (its topic's ``retention.ms``)."""
    admin = make_admin(settings)
    try:
        if name not in admin.list_topics():
            raise StreamNotFoundError(name)
        resource = ConfigResource(ConfigResourceType.TOPIC, name, configs=["retention.ms"])
        configs = admin.describe_configs([resource])
    finally:
        admin.close()
    return int(configs["topic"][name]["retention.ms"]["value"]) / MS_PER_HOUR


def set_retention_hours(settings: Settings, name: str, hours: float) -> None:
    """Change how long the stream keeps records (its topic's ``retention.ms``)."""
    if hours <= 0:
        raise TideboxError(f"stream '{name}': retention must be positive, got {hours}")
    admin = make_admin(settings)
    try:
        if name not in admin.list_topics():
            raise StreamNotFoundError(name)
        resource = ConfigResource(
            ConfigResourceType.TOPIC, name, configs={"retention.ms": str(int(hours * MS_PER_HOUR))}
        )
        admin.alter_configs([resource])
    finally:
        admin.close()


def shard_offsets(settings: Settings, name: str) -> dict[int, tuple[int, int]]:
    """Per shard, the (earliest, latest) offsets: latest is the offset the next record gets."""
    consumer = make_consumer(settings)
    try:
        partitions = consumer.partitions_for_topic(name)
        if not partitions:
            raise StreamNotFoundError(name)
        tps = [TopicPartition(name, p) for p in sorted(partitions)]
        first = consumer.beginning_offsets(tps)
        last = consumer.end_offsets(tps)
        return {tp.partition: (first[tp], last[tp]) for tp in tps}
    finally:
        consumer.close()


def count_records(
    settings: Settings, name: str, since: Mapping[int, int] | None = None, timeout_s: float = 30
) -> int:
    """How many committed records the stream holds after the ``since`` offsets (per shard).

    Offsets alone overcount a stream written in Kafka transactions: every commit also takes
    an offset per shard for its marker, so the records are read and counted. It gives up
    (with an error, never a short count) when ``timeout_s`` pass without progress.
    """
    consumer = make_consumer(settings)
    try:
        tps = _shards(consumer, name)
        first = consumer.beginning_offsets(tps)
        end = consumer.end_offsets(tps)  # the last stable offset, under read_committed
    finally:
        consumer.close()
    start = {tp: max(first[tp], (since or {}).get(tp.partition, 0)) for tp in tps}
    return sum(_count_committed(settings, name, start, end, timeout_s).values())


def _shards(consumer: KafkaConsumer, name: str, settle_s: float = 0.0) -> list[TopicPartition]:
    """The stream's shards as ``consumer`` sees them. A client's metadata may not list a topic
    created a moment ago, so a missing one is asked for again with fresh metadata, and, for a
    stream known to exist (``settle_s`` > 0), again for up to ``settle_s``."""
    deadline = time.monotonic() + settle_s
    partitions = consumer.partitions_for_topic(name)
    while not partitions:
        if name in consumer.topics():  # topics() refreshes the client's metadata
            partitions = consumer.partitions_for_topic(name)
        if partitions or time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    if not partitions:
        raise StreamNotFoundError(name)
    return [TopicPartition(name, p) for p in sorted(partitions)]


def _count_committed(
    settings: Settings,
    name: str,
    start: Mapping[TopicPartition, int],
    end: Mapping[TopicPartition, int],
    timeout_s: float,
) -> dict[TopicPartition, int]:
    """Per shard, the committed records at offsets in ``[start, end)``, read with librdkafka
    (read_committed, which skips commit markers and aborted records; kafka-python reads ~35k
    records/s here, librdkafka over ten times that)."""
    from confluent_kafka import KafkaError
    from confluent_kafka import TopicPartition as Position

    counts = dict.fromkeys(start, 0)
    shard = {tp.partition: tp for tp in start}
    todo = {tp.partition for tp in start if start[tp] < end[tp]}
    if not todo:
        return counts
    consumer = make_fast_consumer(settings, **{"enable.partition.eof": True})
    try:
        consumer.assign([Position(name, p, start[shard[p]]) for p in sorted(todo)])
        deadline = time.monotonic() + timeout_s
        while todo:
            messages = consumer.consume(num_messages=100_000, timeout=0.5)
            for message in messages:
                error, partition = message.error(), message.partition()
                if partition is None or partition not in todo:
                    continue
                if error is not None:
                    if error.code() != KafkaError._PARTITION_EOF:
                        raise TideboxError(f"counting the records of '{name}': {error.str()}")
                    todo.discard(partition)  # nothing more to read: the rest were markers
                    continue
                last = end[shard[partition]] - 1
                offset = message.offset() or 0
                counts[shard[partition]] += offset <= last
                if offset >= last:
                    todo.discard(partition)
            if messages:
                deadline = time.monotonic() + timeout_s
            elif time.monotonic() > deadline:
                total = sum(counts.values())
                raise TideboxError(f"counting the records of '{name}' stalled at {total:,}")
    finally:
        consumer.close()
    return counts


def describe_stream(settings: Settings, name: str, timeout_s: float = 30) -> StreamInfo:
    """The stream's retention and shards: offsets, and the committed records each holds.

    The records are read and counted (see ShardInfo); ``timeout_s`` as in count_records.
    """
    retention_hours = stream_retention_hours(settings, name)
    consumer = make_consumer(settings)
    try:
        tps = _shards(consumer, name, settle_s=10.0)  # the admin client has just seen it
        first = consumer.beginning_offsets(tps)
        last = consumer.end_offsets(tps)  # the last stable offset, under read_committed
    finally:
        consumer.close()
    counts = _count_committed(settings, name, first, last, timeout_s)
    shards = tuple(ShardInfo(tp.partition, first[tp], last[tp], counts[tp]) for tp in tps)
    return StreamInfo(name, retention_hours, shards)


def recreate_stream(settings: Settings, name: str, timeout_s: float = 30.0) -> StreamInfo:
    """Delete the stream if it exists and create it empty, with its spec's shards and retention.

    Kafka finishes deleting a topic in the background, so creation is retried until it has.
    """
    if name in list_streams(settings):
        delete_stream(settings, name)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return create_stream(settings, name)
        except StreamExistsError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
