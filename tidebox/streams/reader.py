"""Read a stream back from any position, as Kinesis' GetShardIterator and GetRecords do.

A position is one of Kinesis' iterator types: the oldest record kept (``trim-horizon``), just
after the newest (``latest``), the first record at or after an arrival time
(``at-timestamp``), or a sequence number (``at-sequence`` / ``after-sequence``). A sequence
number is the record's offset in its shard's partition. Only committed records are read: the
jobs that write streams in Kafka transactions leave offsets for their commit markers, so
sequence numbers grow within a shard but skip some values.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tidebox.core.clients import make_fast_consumer
from tidebox.core.errors import KafkaUnavailableError, StreamNotFoundError, TideboxError
from tidebox.core.settings import Settings

POSITION_KINDS = ("trim-horizon", "latest", "at-timestamp", "at-sequence", "after-sequence")
# GetRecords' own caps: 10,000 records and 10 MiB a call
MAX_RECORDS = 10_000
MAX_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Position:
    """Where to start reading a shard: ``kind`` is one of POSITION_KINDS; ``sequence`` goes with
    the sequence kinds, ``timestamp_ms`` (arrival time, epoch ms) with at-timestamp."""

    kind: str
    sequence: int | None = None
    timestamp_ms: int | None = None

    def check(self) -> None:
        if self.kind not in POSITION_KINDS:
            raise TideboxError(
                f"unknown position '{self.kind}': use one of {', '.join(POSITION_KINDS)}"
            )
        if self.kind.endswith("sequence") and (self.sequence is None or self.sequence < 0):
            raise TideboxError(f"position {self.kind} needs a sequence number (0 or more)")
        if self.kind == "at-timestamp" and self.timestamp_ms is None:
            raise TideboxError("position at-timestamp needs a time")


@dataclass(frozen=True)
class StreamRecord:
    """One record as read: its shard, sequence number, arrival time, partition key and data."""

    shard: int
    sequence: int
    arrival_ms: int
    key: bytes | None
    data: bytes


@dataclass(frozen=True)
class ReadBatch:
    """What one read returned, where the next read starts, and the shard's end when read."""

    records: list[StreamRecord]
    next_sequence: int
    end: int

    @property
    def at_end(self) -> bool:
        return self.next_sequence >= self.end


class InvalidPositionError(TideboxError):
    """A sequence number that the shard does not hold (beyond its end)."""

    def __init__(self, stream: str, shard: int, sequence: int, end: int) -> None:
        super().__init__(
            f"sequence number {sequence} is not in shard {shard} of '{stream}' "
            f"(it ends before {end})"
        )
        self.stream = stream
        self.shard = shard
        self.sequence = sequence
        self.end = end


class ShardReader:
    """Reads single shards from given offsets with a small pool of librdkafka consumers.

    Each read takes a consumer from the pool, assigns it the one partition at the offset and
    consumes until it has ``limit`` records, ``max_bytes`` of data or the shard's end as it
    stood when the read began; a read at the end answers at once, without a fetch. Safe to
    call from several threads.
    """

    def __init__(self, settings: Settings, size: int = 4) -> None:
        self.settings = settings
        self._pool: queue.Queue[Any] = queue.Queue()
        self._made = 0
        self._size = size
        self._lock = threading.Lock()
        self._closed = False

    @contextmanager
    def _consumer(self) -> Iterator[Any]:
        try:
            consumer = self._pool.get_nowait()
        except queue.Empty:
            with self._lock:
                make = self._made < self._size
                self._made += make
            if make:
                consumer = make_fast_consumer(
                    self.settings,
                    **{
                        "group.id": "tidebox-stream-reader",
                        "enable.partition.eof": True,
                        "fetch.wait.max.ms": 50,
                        # small prefetch: a read takes one shard's next records, not a backlog
                        "queued.min.messages": 1000,
                        "queued.max.messages.kbytes": 16 * 1024,
                        "max.partition.fetch.bytes": MAX_BYTES,
                    },
                )
            else:
                consumer = self._pool.get()
        try:
            yield consumer
        finally:
            if self._closed:
                consumer.close()
            else:
                self._pool.put(consumer)

    def bounds(self, stream: str, shard: int) -> tuple[int, int]:
        """The shard's (earliest, end) offsets: end is the offset the next record will get
        (the last stable offset, so records of open transactions are not yet counted)."""
        from confluent_kafka import KafkaException, TopicPartition

        with self._consumer() as consumer:
            try:
                low, high = consumer.get_watermark_offsets(
                    TopicPartition(stream, shard), timeout=10, cached=False
                )
            except KafkaException as exc:
                if "UNKNOWN_TOPIC" in str(exc) or "UNKNOWN_PARTITION" in str(exc):
                    raise StreamNotFoundError(stream) from exc
                raise KafkaUnavailableError(self.settings.kafka_bootstrap, str(exc)) from exc
        return int(low), int(high)

    def start_offset(self, stream: str, shard: int, position: Position) -> int:
        """The offset a read from ``position`` starts at."""
        position.check()
        low, high = self.bounds(stream, shard)
        if position.kind == "trim-horizon":
            return low
        if position.kind == "latest":
            return high
        if position.kind == "at-timestamp":
            return self._offset_at(stream, shard, position.timestamp_ms or 0, high)
        sequence = int(position.sequence or 0)
        if sequence >= high + (position.kind == "after-sequence"):
            raise InvalidPositionError(stream, shard, sequence, high)
        start = sequence + 1 if position.kind == "after-sequence" else sequence
        return max(start, low)

    def _offset_at(self, stream: str, shard: int, timestamp_ms: int, high: int) -> int:
        from confluent_kafka import TopicPartition

        with self._consumer() as consumer:
            found = consumer.offsets_for_times(
                [TopicPartition(stream, shard, max(0, timestamp_ms))], timeout=10
            )
        offset = found[0].offset
        return int(offset) if offset is not None and offset >= 0 else high

    def read(
        self,
        stream: str,
        shard: int,
        offset: int,
        limit: int = MAX_RECORDS,
        max_bytes: int = MAX_BYTES,
        timeout_s: float = 5.0,
    ) -> ReadBatch:
        """Up to ``limit`` committed records from ``offset`` on (fewer at the shard's end)."""
        from confluent_kafka import KafkaError, TopicPartition

        low, end = self.bounds(stream, shard)
        offset = max(offset, low)
        if offset >= end or limit <= 0:
            return ReadBatch([], offset, end)
        records: list[StreamRecord] = []
        size = 0
        next_offset = offset
        with self._consumer() as consumer:
            consumer.assign([TopicPartition(stream, shard, offset)])
            try:
                deadline = time.monotonic() + timeout_s
                while len(records) < limit and size < max_bytes and next_offset < end:
                    if time.monotonic() > deadline:
                        break
                    wanted = min(limit - len(records), 10_000)
                    for message in consumer.consume(num_messages=wanted, timeout=0.2):
                        error = message.error()
                        if error is not None:
                            if error.code() == KafkaError._PARTITION_EOF:
                                next_offset = max(next_offset, end)
                                continue
                            raise TideboxError(f"reading '{stream}' shard {shard}: {error.str()}")
                        at = message.offset()
                        if message.partition() != shard or at is None or at < next_offset:
                            continue
                        if len(records) >= limit or (records and size >= max_bytes):
                            break
                        value = message.value() or b""
                        records.append(
                            StreamRecord(shard, at, message.timestamp()[1], message.key(), value)
                        )
                        size += len(value) + len(message.key() or b"")
                        next_offset = at + 1
            finally:
                consumer.unassign()
        if records:
            next_offset = records[-1].sequence + 1
        return ReadBatch(records, next_offset, end)

    def close(self) -> None:
        self._closed = True
        while True:
            try:
                self._pool.get_nowait().close()
            except queue.Empty:
                return
