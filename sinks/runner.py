"""Deliver a stream to the landing bucket: consume from Kafka, land Parquet, then commit offsets.

Offsets are committed only after the files of a batch are on disk, and the file names record
the offsets they hold, so a sink stopped at any moment restarts where the landed data ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from kafka import KafkaConsumer, OffsetAndMetadata, TopicPartition

from sinks.parquet import LandedFile, ParquetSink
from tidebox.clients import make_consumer
from tidebox.config import Settings
from tidebox.errors import StreamNotFoundError, TideboxError
from tidebox.signals import StopRequest

DEFAULT_BATCH_RECORDS = 100_000
DEFAULT_FLUSH_SECONDS = 60.0


@dataclass(frozen=True)
class SinkResult:
    stream: str
    records_in: int
    rows_landed: int
    errors: int
    files: tuple[LandedFile, ...]
    seconds: float


def sink_group(stream: str) -> str:
    return f"tidebox-sink-{stream}"


def run_sink(
    settings: Settings,
    stream: str,
    until_caught_up: bool = True,
    batch_records: int = DEFAULT_BATCH_RECORDS,
    flush_seconds: float = DEFAULT_FLUSH_SECONDS,
    progress: Callable[[int], None] | None = None,
) -> SinkResult:
    """Land ``stream`` as Parquet; stop when caught up with the offsets present at start,
    or (continuous) on SIGTERM / Ctrl-C, flushing what is buffered first."""
    if batch_records < 1 or flush_seconds <= 0:
        raise TideboxError("batch size and flush interval must be positive")
    sink = ParquetSink(settings.bucket_path, stream, settings.stream(stream))
    consumer = make_consumer(settings, group_id=sink_group(stream), max_poll_records=5000)
    stop = StopRequest()
    started = time.monotonic()
    try:
        partitions = consumer.partitions_for_topic(stream)
        if not partitions:
            raise StreamNotFoundError(stream)
        tps = [TopicPartition(stream, p) for p in sorted(partitions)]
        consumer.assign(tps)
        _seek_past_landed(consumer, sink, tps)
        end = consumer.end_offsets(tps) if until_caught_up else {}
        last_flush = time.monotonic()
        with stop.installed():
            while not stop.requested:
                if until_caught_up and all(consumer.position(tp) >= end[tp] for tp in tps):
                    break
                polled = consumer.poll(timeout_ms=500)
                added = 0
                for tp, messages in polled.items():
                    for message in messages:
                        sink.add(message.value, tp.partition, message.offset, message.timestamp)
                        added += 1
                if progress and added:
                    progress(added)
                due = time.monotonic() - last_flush >= flush_seconds
                if sink.buffered() >= batch_records or (due and sink.buffered()):
                    _flush_and_commit(consumer, sink, stream)
                    last_flush = time.monotonic()
        _flush_and_commit(consumer, sink, stream)
    finally:
        consumer.close(autocommit=False)
    counters = sink.counters
    return SinkResult(
        stream=stream,
        records_in=counters.records_in,
        rows_landed=counters.rows_landed,
        errors=counters.errors,
        files=tuple(counters.files),
        seconds=time.monotonic() - started,
    )


def _seek_past_landed(
    consumer: KafkaConsumer, sink: ParquetSink, tps: list[TopicPartition]
) -> None:
    """Start each partition where landing stopped: the recorded progress or the committed offset,
    whichever is further, after removing files of a flush that did not complete."""
    landed = sink.landed_offsets()
    beginning = consumer.beginning_offsets(tps)
    end = consumer.end_offsets(tps)
    for tp in tps:
        if landed.get(tp.partition, 0) > end[tp]:
            raise TideboxError(
                f"stream '{tp.topic}' shard {tp.partition} ends at {end[tp]}, but landing "
                f"recorded {landed[tp.partition]}: the stream was recreated. Drop its landed "
                f"table (tidebox sink drop {tp.topic}) to land it afresh"
            )
        committed = consumer.committed(tp) or 0
        if committed > end[tp]:  # left over from an earlier stream of the same name
            committed = 0
        start = max(committed, landed.get(tp.partition, 0), beginning[tp])
        sink.discard_incomplete(tp.partition, start)
        consumer.seek(tp, start)


def _flush_and_commit(consumer: KafkaConsumer, sink: ParquetSink, stream: str) -> None:
    commit = sink.flush()
    if commit:
        offsets = {
            TopicPartition(stream, p): OffsetAndMetadata(o, "", -1) for p, o in commit.items()
        }
        consumer.commit(offsets)
