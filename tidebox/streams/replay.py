"""Replay recorded sensor files into a stream in event-time order, as devices would send them.

Several files are merged by event time (ties keep file order, then row order). Each record
goes to Kafka as one JSON object whose time field holds the original event time in ISO-8601
UTC, and the Kafka key is the partition key. (The Kafka timestamp is the arrival time: see
tidebox.streams.admin.)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
from kafka.errors import KafkaError
from kafka.partitioner.default import murmur2

from tidebox.core.clients import make_producer
from tidebox.core.errors import InputFileError, KafkaUnavailableError, TideboxError
from tidebox.core.records import parse_times, read_records
from tidebox.core.settings import Settings
from tidebox.streams.admin import ensure_stream, list_streams, shard_offsets

TIME_FIELD_GUESSES = ("event_time", "timestamp", "time", "ts")


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

    def check(self) -> None:
        if self.speedup is not None and self.speedup <= 0:
            raise TideboxError(f"--speedup must be positive, got {self.speedup}")
        if self.rate is not None and self.rate <= 0:
            raise TideboxError(f"--rate must be positive, got {self.rate}")
        if self.limit is not None and self.limit < 0:
            raise TideboxError(f"--limit must be zero or more, got {self.limit}")


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


def guess_time_field(frame: pd.DataFrame) -> str | None:
    return next((f for f in TIME_FIELD_GUESSES if f in frame.columns), None)


def load_merged(
    paths: Sequence[str | Path], time_field: str | None, file_order: bool = False
) -> tuple[pd.DataFrame, str]:
    """All files' records in one frame ordered by event time (or as the files hold them,
    one file after the other), plus the time field used."""
    if not paths:
        raise TideboxError("replay needs at least one file")
    frames = []
    field = time_field or ""
    for order, raw_path in enumerate(paths):
        path = Path(raw_path)
        frame = read_records(path)
        field = field or guess_time_field(frame) or ""
        if not field:
            raise InputFileError(str(path), "no time field found: name one with --time-field")
        times = parse_times(frame, field, path)
        frame.attrs.clear()  # line numbers are only for errors; pandas deep-copies attrs
        frame = frame.assign(**{field: times})
        frame["__file"] = order
        frames.append(frame)
    merged = pd.concat(frames, ignore_index=True, sort=False)
    if not file_order:
        merged = merged.sort_values([field, "__file"], kind="stable")
    merged = merged.drop(columns="__file")
    return merged.reset_index(drop=True), field


def without_zone(columns: Mapping[str, str]) -> set[str]:
    """The columns a stream declares as TIMESTAMP without a time zone: Flink's JSON format reads
    those from ISO-8601 text without the ``Z`` a TIMESTAMP_LTZ needs."""
    return {
        name
        for name, kind in columns.items()
        if kind.upper().startswith("TIMESTAMP")
        and "LTZ" not in kind.upper()
        and "LOCAL TIME ZONE" not in kind.upper()
    }


def _json_column(column: pd.Series, zone: bool = True) -> list[Any]:
    """A column as JSON-ready Python values: times as ISO-8601 UTC text (ending in ``Z`` unless
    ``zone`` is false), missing values as None."""
    if isinstance(column.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(column):
        utc = pd.to_datetime(column, utc=True)
        text = utc.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str.slice(0, 23) + ("Z" if zone else "")
        return text.where(utc.notna(), None).tolist()
    values = column.tolist()
    if column.dtype == object or not column.notna().all():
        missing = column.isna().tolist()
        return [None if gone else v for v, gone in zip(values, missing, strict=True)]
    return values


def encode_records(
    frame: pd.DataFrame,
    time_field: str,
    key_field: str | None,
    zoneless: Collection[str] = (),
) -> Iterator[tuple[bytes | None, bytes, int]]:
    """(key, JSON value, event time in ms) for each row, in frame order.

    Columns are converted once, column by column; orjson then writes each row exactly
    (floats round-trip, NaN and missing values become null). Times in ``zoneless`` columns
    (declared TIMESTAMP, see :func:`without_zone`) are written without the ``Z``.
    """
    names = [str(c) for c in frame.columns]
    columns = [_json_column(frame[c], str(c) not in zoneless) for c in frame.columns]
    epoch_ms = (frame[time_field] - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(milliseconds=1)
    key_index = names.index(key_field) if key_field in names else None
    for row, ms in zip(zip(*columns, strict=True), epoch_ms.tolist(), strict=True):
        key = None if key_index is None else row[key_index]
        encoded_key = None if key is None else str(key).encode()
        yield encoded_key, orjson.dumps(dict(zip(names, row, strict=True))), int(ms)


class _KeyPartitioner:
    """Kafka's default key-to-partition mapping (murmur2), cached per key.

    kafka-python computes it in pure Python for every record; a fleet has few keys.
    """

    def __init__(self, partitions: int) -> None:
        self.partitions = partitions
        self.cache: dict[bytes, int] = {}

    def __call__(self, key: bytes | None) -> int | None:
        if key is None:
            return None
        found = self.cache.get(key)
        if found is None:
            found = (murmur2(key) & 0x7FFFFFFF) % self.partitions
            self.cache[key] = found
        return found


def replay(
    settings: Settings,
    paths: Sequence[str | Path],
    stream: str,
    options: ReplayOptions | None = None,
    progress: Callable[[int], None] | None = None,
) -> ReplayResult:
    """Send every record of ``paths`` to ``stream`` and wait until Kafka has acknowledged all.

    ``progress`` is called with the number of records sent since its previous call.
    """
    options = options or ReplayOptions()
    options.check()
    spec = settings.stream(stream)
    frame, time_field = load_merged(
        paths, options.time_field or (spec.time_field if spec else None), options.file_order
    )
    key_field = options.key_field or (spec.key_field if spec else None)
    zoneless = without_zone(spec.columns) if spec else set()
    if key_field and key_field not in frame.columns:
        raise InputFileError(str(paths[0]), f"no key field '{key_field}' in the records")
    if stream not in list_streams(settings):
        if spec is None:
            raise TideboxError(
                f"unknown stream '{stream}': create it with 'tidebox stream create {stream}'"
            )
        ensure_stream(settings, stream)

    partition_of = _KeyPartitioner(len(shard_offsets(settings, stream)))
    producer = make_producer(settings)
    span = frame[time_field].max() - frame[time_field].min() if len(frame) else pd.Timedelta(0)
    step = pd.Timedelta(seconds=1) + span
    sent = 0
    started = time.monotonic()
    first_ms: int | None = None
    failures: list[BaseException] = []
    last_ms: int | None = None
    try:
        lap = 0
        while True:
            shifted = frame
            if lap:
                shifted = frame.assign(**{time_field: frame[time_field] + step * lap})
            records = encode_records(shifted, time_field, key_field, zoneless)
            for key, value, event_ms in records:
                if options.limit is not None and sent >= options.limit:
                    break
                first_ms = event_ms if first_ms is None else first_ms
                _pace(options, started, sent, event_ms - first_ms)
                future = producer.send(
                    stream,
                    key=key,
                    value=value,
                    partition=partition_of(key),
                )
                future.add_errback(failures.append)
                last_ms = event_ms
                sent += 1
                if progress and sent % 1000 == 0:
                    progress(1000)
            lap += 1
            if (
                not options.loop
                or not len(frame)
                or (options.limit is not None and sent >= options.limit)
            ):
                break
        producer.flush()
        if failures:
            raise KafkaUnavailableError(
                settings.kafka_bootstrap,
                f"{len(failures)} of {sent} records were not acknowledged: {failures[0]}",
            )
    except KafkaError as exc:
        raise KafkaUnavailableError(settings.kafka_bootstrap, f"send failed: {exc}") from exc
    finally:
        producer.close()
    if progress and sent % 1000:
        progress(sent % 1000)
    return ReplayResult(
        stream=stream,
        events=sent,
        seconds=time.monotonic() - started,
        first_event_time=_to_datetime(first_ms),
        last_event_time=_to_datetime(last_ms),
    )


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
    return None if ms is None else pd.Timestamp(ms, unit="ms", tz="UTC").to_pydatetime()
