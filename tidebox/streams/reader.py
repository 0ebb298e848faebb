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
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tidebox.core.clients import make_fast_consumer, stream_partitions
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

    def shards(self, stream: str) -> list[int]:
        """The stream's shard numbers, from fresh metadata."""
        with self._consumer() as consumer:
            return stream_partitions(consumer, self.settings, stream)

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


def parse_position(kind: str, value: str | None = None) -> Position:
    """A position from the command line: ``kind`` with its value (a sequence number, or for
    at-timestamp an ISO-8601 time or epoch seconds); ``kind=value`` also works."""
    if value is None and "=" in kind:
        kind, value = kind.split("=", 1)
    if kind not in POSITION_KINDS:
        raise TideboxError(f"unknown position '{kind}': use one of {', '.join(POSITION_KINDS)}")
    if kind in ("trim-horizon", "latest"):
        if value is not None:
            raise TideboxError(f"position {kind} takes no value, got '{value}'")
        return Position(kind)
    if value is None:
        what = "a time" if kind == "at-timestamp" else "a sequence number"
        raise TideboxError(f"position {kind} needs {what}, e.g. --from {kind} VALUE")
    if kind == "at-timestamp":
        return Position(kind, timestamp_ms=_parse_time_ms(value))
    if not value.isdigit():
        raise TideboxError(f"'{value}' is not a sequence number (a whole number)")
    return Position(kind, sequence=int(value))


def _parse_time_ms(text: str) -> int:
    from datetime import UTC, datetime

    try:
        return int(float(text) * 1000)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise TideboxError(f"'{text}' is not a time (ISO-8601 or epoch seconds)") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def read_stream(
    settings: Settings,
    stream: str,
    position: Position,
    shard: int | None = None,
    limit: int | None = None,
    follow: bool = False,
    poll_s: float = 0.2,
) -> Generator[StreamRecord, None, None]:
    """The stream's committed records from ``position``, shard by shard in turns of a batch
    each; ``follow`` keeps waiting for new ones (until the caller stops iterating).

    Sequence positions name an offset in one shard: give ``shard`` unless the stream has one.
    """
    position.check()
    reader = ShardReader(settings, size=1)
    try:
        shards = reader.shards(stream)
        if shard is not None and shard not in shards:
            raise TideboxError(
                f"stream '{stream}' has no shard {shard} (shards 0-{len(shards) - 1})"
            )
        chosen = [shard] if shard is not None else shards
        if position.kind.endswith("sequence") and len(chosen) > 1:
            raise TideboxError(
                "a sequence number belongs to one shard: name it with --shard "
                f"(0-{len(shards) - 1})"
            )
        offsets = {s: reader.start_offset(stream, s, position) for s in chosen}
        sent = 0
        while limit is None or sent < limit:
            progressed = False
            for s in chosen:
                wanted = 1000 if limit is None else min(1000, limit - sent)
                if wanted <= 0:
                    break
                batch = reader.read(stream, s, offsets[s], wanted)
                offsets[s] = batch.next_sequence
                yield from batch.records
                sent += len(batch.records)
                progressed = progressed or bool(batch.records) or not batch.at_end
            if not progressed:
                if not follow:
                    return
                time.sleep(poll_s)
    finally:
        reader.close()
