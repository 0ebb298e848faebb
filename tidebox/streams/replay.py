"""Replay recorded sensor files into a stream in event-time order, as devices would send them.

Files are read chunk by chunk (tidebox.core.chunks), so memory depends on the chunk size and
not on the files: a file larger than memory replays. Several files are merged by event time a
chunk at a time (tidebox.streams.merge): ties keep file order, then row order, and a file that
fits in one chunk is sent fully sorted. Each record goes to Kafka as one JSON object whose time
field holds the original event time in ISO-8601 UTC (tidebox.streams.encoding); the Kafka key
is the partition key, and the key's shard is the one Kinesis would pick (tidebox.streams.shards).
(The Kafka timestamp is the arrival time: see tidebox.streams.admin.)

Records go through librdkafka, and replay returns only once Kafka has acknowledged every one.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tidebox.core.chunks import Chunk, Column, chunk_times, read_chunks
from tidebox.core.clients import FAST_PRODUCER_TIMEOUT_MS, make_fast_producer
from tidebox.core.errors import (
    InputFileError,
    KafkaUnavailableError,
    StreamNotFoundError,
    TideboxError,
)
from tidebox.core.settings import Settings
from tidebox.streams.admin import ensure_stream
from tidebox.streams.encoding import encode_records, json_objects, key_bytes, without_zone
from tidebox.streams.merge import Batch, in_file_order, merge_by_time
from tidebox.streams.shards import KeyRouter

__all__ = [
    "ReplayOptions",
    "ReplayResult",
    "encode_records",
    "guess_time_field",
    "replay",
    "without_zone",
]

TIME_FIELD_GUESSES = ("event_time", "timestamp", "time", "ts")
# Rows read per round across all files (each of n files reads chunk_rows / n at a time); a
# chunk of sensor readings holds about 20 MB of JSON.
DEFAULT_CHUNK_ROWS = 100_000
MIN_FILE_CHUNK_ROWS = 1_000
PROGRESS_EVERY = 1_000  # records between two progress calls
_MS_UTC = pa.timestamp("ms", tz="UTC")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ReplayOptions:
    """How to pace a replay: ``speedup`` × real time, or as fast as possible capped at ``rate``."""

    time_field: str | None = None
    key_field: str | None = None
    speedup: float | None = None
    rate: float | None = None
    loop: bool = False
    limit: int | None = None
    # send rows in file order, not event-time order: out-of-order and late arrivals as the
    # files record them
    file_order: bool = False
    # rows read at a time, across all files: what bounds replay's memory
    chunk_rows: int = DEFAULT_CHUNK_ROWS

    def check(self) -> None:
        if self.speedup is not None and self.speedup <= 0:
            raise TideboxError(f"--speedup must be positive, got {self.speedup}")
        if self.rate is not None and self.rate <= 0:
            raise TideboxError(f"--rate must be positive, got {self.rate}")
        if self.limit is not None and self.limit < 0:
            raise TideboxError(f"--limit must be zero or more, got {self.limit}")
        if self.chunk_rows < 1:
            raise TideboxError(f"chunk_rows must be at least 1, got {self.chunk_rows}")


@dataclass(frozen=True)
class ReplayResult:
    stream: str
    events: int
    seconds: float
    first_event_time: datetime | None
    last_event_time: datetime | None

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


def guess_time_field(columns: Iterable[str]) -> str | None:
    names = set(columns)
    return next((f for f in TIME_FIELD_GUESSES if f in names), None)


@dataclass(frozen=True)
class _Plan:
    """What every chunk is turned into records by."""

    time_field: str
    key_field: str | None
    zoneless: frozenset[str]
    layout: tuple[str, ...]  # the columns of every record, in order: all files' columns


def _to_batch(chunk: Chunk, plan: _Plan, shift_ms: int) -> Batch:
    """The chunk's records: event times (shifted by ``shift_ms``), JSON values, keys."""
    times = chunk_times(chunk, plan.time_field)
    if shift_ms:
        times = times + shift_ms
    columns: dict[str, Column | None] = dict(chunk.columns)
    columns[plan.time_field] = pa.array(times, _MS_UTC)
    ordered = {name: columns.get(name) for name in plan.layout}
    ordered.update({n: c for n, c in columns.items() if n not in ordered})  # a later column
    values = json_objects(ordered, chunk.rows, plan.zoneless)
    keys = None
    if plan.key_field is not None:
        column = columns.get(plan.key_field)
        zone = plan.key_field not in plan.zoneless
        keys = pa.nulls(chunk.rows, pa.binary()) if column is None else key_bytes(column, zone)
    return Batch(times, values, keys)


def _batches(chunks: Iterable[Chunk], plan: _Plan, shift_ms: int) -> Iterator[Batch]:
    return (_to_batch(chunk, plan, shift_ms) for chunk in chunks)


def _plan(
    options: ReplayOptions,
    paths: Sequence[Path],
    firsts: Sequence[Chunk | None],
    columns: Mapping[str, str],
    defaults: tuple[str | None, str | None],
) -> _Plan | None:
    """The time and key fields and the columns of the records; None when no file has a row."""
    field = options.time_field or defaults[0]
    if not field:
        for path, first in zip(paths, firsts, strict=True):
            if first is None:
                continue
            field = guess_time_field(first.columns)
            if not field:
                raise InputFileError(str(path), "no time field found: name one with --time-field")
            break
    if not field:
        return None
    layout: dict[str, None] = {}
    for first in firsts:
        layout.update(dict.fromkeys(first.columns if first is not None else ()))
    key_field = options.key_field or defaults[1]
    if key_field and layout and key_field not in layout:
        raise InputFileError(str(paths[0]), f"no key field '{key_field}' in the records")
    return _Plan(field, key_field or None, frozenset(without_zone(columns)), tuple(layout))


def replay(
    settings: Settings,
    paths: Sequence[str | Path],
    stream: str,
    options: ReplayOptions | None = None,
    progress: Callable[[int], None] | None = None,
) -> ReplayResult:
    """Send every record of ``paths`` to ``stream`` and wait until Kafka has acknowledged all.

    ``progress`` is called with the number of records sent since its previous call. A bad row
    in a file's first chunk stops the replay before anything is sent; one further on stops
    it when it is reached (the records before it are sent).
    """
    options = options or ReplayOptions()
    options.check()
    if not paths:
        raise TideboxError("replay needs at least one file")
    files = [Path(p) for p in paths]
    spec = settings.stream(stream)
    file_rows = max(MIN_FILE_CHUNK_ROWS, options.chunk_rows // len(files))

    readers = [read_chunks(path, file_rows) for path in files]
    firsts = [next(reader, None) for reader in readers]
    defaults = (spec.time_field, spec.key_field) if spec else (None, None)
    plan = _plan(options, files, firsts, spec.columns if spec else {}, defaults)
    # the first chunks become records now, so that a bad row there stops the replay early
    sources: list[Iterator[Batch]] = []
    for first, reader in zip(firsts, readers, strict=True):
        if plan is None or first is None:
            sources.append(iter(()))
            continue
        sources.append(itertools.chain([_to_batch(first, plan, 0)], _batches(reader, plan, 0)))

    failures: list[str] = []

    def delivered(error: Any, message: Any) -> None:  # called only for records that failed
        if error is not None:
            failures.append(str(error))

    producer = make_fast_producer(
        settings, **{"on_delivery": delivered, "delivery.report.only.error": True}
    )
    sender = _Sender(settings, producer, stream, options, progress)
    try:
        shards = _shard_count(settings, producer, stream, settle_s=0.0)
        if not shards:
            if spec is None:
                raise TideboxError(
                    f"unknown stream '{stream}': create it with 'tidebox stream create {stream}'"
                )
            ensure_stream(settings, stream)
            shards = _shard_count(settings, producer, stream, settle_s=10.0)
            if not shards:
                raise StreamNotFoundError(stream)
        sender.router = KeyRouter(shards)
        lap = 0
        while plan is not None:
            merged = (
                in_file_order(sources) if options.file_order else merge_by_time(sources, file_rows)
            )
            lap_sent = sender.send_all(merged, lap == 0)
            lap += 1
            if not options.loop or not lap_sent or sender.done:
                break
            step = sender.span_ms + 1000  # each lap starts a second after the last one ended
            sources = [_batches(read_chunks(path, file_rows), plan, step * lap) for path in files]
    finally:
        left = producer.flush(FAST_PRODUCER_TIMEOUT_MS / 1000 + 10)
    if failures or left:
        raise KafkaUnavailableError(
            settings.kafka_bootstrap,
            f"{len(failures) + left} of {sender.sent} records were not acknowledged"
            + (f": {failures[0]}" if failures else ""),
        )
    return ReplayResult(
        stream=stream,
        events=sender.sent,
        seconds=time.monotonic() - sender.started,
        first_event_time=_to_datetime(sender.first_ms),
        last_event_time=_to_datetime(sender.last_ms),
    )


def _shard_count(settings: Settings, producer: Any, stream: str, settle_s: float) -> int:
    """The stream's shards as the producer sees them; 0 if it does not exist (yet)."""
    from confluent_kafka import KafkaException

    deadline = time.monotonic() + settle_s
    while True:
        try:
            topic = producer.list_topics(stream, timeout=10).topics.get(stream)
        except KafkaException as exc:
            raise KafkaUnavailableError(settings.kafka_bootstrap, f"no metadata: {exc}") from exc
        if topic is not None and topic.error is None and topic.partitions:
            return len(topic.partitions)
        if time.monotonic() >= deadline:
            return 0
        time.sleep(0.1)


class _Sender:
    """Sends batches of records: paced, up to the limit, counted for progress and the result."""

    def __init__(
        self,
        settings: Settings,
        producer: Any,
        stream: str,
        options: ReplayOptions,
        progress: Callable[[int], None] | None,
    ) -> None:
        self.settings = settings
        self.producer = producer
        self.stream = stream
        self.options = options
        self.progress = progress
        self.router = KeyRouter(1)
        self.sent = 0
        self.started = time.monotonic()
        self.first_ms: int | None = None
        self.last_ms: int | None = None
        self.low_ms: int | None = None  # the earliest and latest event times of the first lap
        self.high_ms: int | None = None

    @property
    def done(self) -> bool:
        return self.options.limit is not None and self.sent >= self.options.limit

    @property
    def span_ms(self) -> int:
        if self.low_ms is None or self.high_ms is None:
            return 0
        return self.high_ms - self.low_ms

    def send_all(self, batches: Iterator[Batch], first_lap: bool) -> int:
        """Send the batches (until the limit); how many records were sent."""
        before = self.sent
        for batch in batches:
            if self.done:
                break
            if self.options.limit is not None:
                batch = batch.slice(0, min(len(batch), self.options.limit - self.sent))
            if first_lap:
                low, high = int(batch.times.min()), int(batch.times.max())
                self.low_ms = low if self.low_ms is None else min(self.low_ms, low)
                self.high_ms = high if self.high_ms is None else max(self.high_ms, high)
            self._send(batch)
        return self.sent - before

    def _send(self, batch: Batch) -> None:
        from confluent_kafka import KafkaException

        if not len(batch):
            return
        values = batch.values.to_numpy(zero_copy_only=False).tolist()
        keys, shards = _keys_and_shards(batch.keys, len(values), self.router)
        paced = bool(self.options.speedup or self.options.rate)
        times = batch.times.tolist() if paced else []
        if self.first_ms is None:
            self.first_ms = int(batch.times[0])
        try:
            for start in range(0, len(values), PROGRESS_EVERY):
                stop = start + PROGRESS_EVERY
                rows = zip(values[start:stop], keys[start:stop], shards[start:stop], strict=True)
                if paced:
                    self._send_paced(rows, times[start:stop])
                else:
                    self._send_rows(rows)
                count = min(stop, len(values)) - start
                self.sent += count
                self.producer.poll(0)
                if self.progress:
                    self.progress(count)
        except KafkaException as exc:
            raise KafkaUnavailableError(
                self.settings.kafka_bootstrap, f"send failed: {exc}"
            ) from exc
        self.last_ms = int(batch.times[-1])

    def _send_rows(self, rows: Iterable[tuple[bytes, bytes | None, int]]) -> None:
        produce, stream = self.producer.produce, self.stream
        for value, key, shard in rows:
            try:
                produce(stream, value, key, shard)
            except BufferError:  # the queue is full: let librdkafka send some, then again
                self._produce_when_room(value, key, shard)

    def _send_paced(
        self, rows: Iterable[tuple[bytes, bytes | None, int]], times: list[int]
    ) -> None:
        first = self.first_ms if self.first_ms is not None else 0
        for sent, (row, event_ms) in enumerate(zip(rows, times, strict=True), start=self.sent):
            _pace(self.options, self.started, sent, event_ms - first)
            self._send_rows([row])

    def _produce_when_room(self, value: bytes, key: bytes | None, shard: int) -> None:
        while True:
            self.producer.poll(0.05)
            try:
                self.producer.produce(self.stream, value, key, shard)
                return
            except BufferError:
                continue


def _keys_and_shards(
    keys: pa.Array | None, rows: int, router: KeyRouter
) -> tuple[list[bytes | None], list[int]]:
    """Each record's key and shard (-1 for no key: the client picks), each distinct key worked
    out once (a fleet has few keys, a chunk many records)."""
    if keys is None:
        return [None] * rows, [-1] * rows
    encoded = pc.dictionary_encode(keys)
    distinct = encoded.dictionary.to_pylist()
    key_table = np.array([*distinct, None], dtype=object)
    shard_table = np.array([*(router(k) for k in distinct), -1], dtype=np.int64)
    index = encoded.indices.fill_null(len(distinct)).to_numpy(zero_copy_only=False)
    return key_table[index].tolist(), shard_table[index].tolist()


def _pace(options: ReplayOptions, started: float, sent: int, event_offset_ms: int) -> None:
    """Sleep until the record is due: by event-time gap / speedup, and by the rate cap."""
    due = 0.0
    if options.speedup:
        due = event_offset_ms / 1000.0 / options.speedup
    if options.rate:
        due = max(due, sent / options.rate)
    wait = started + due - time.monotonic()
    if wait > 0:
        time.sleep(wait)


def _to_datetime(ms: int | None) -> datetime | None:
    return None if ms is None else _EPOCH + timedelta(milliseconds=ms)
