"""Run a delivery stream: consume its source from Kafka, buffer, deliver, then commit offsets.

The consumer is librdkafka's (confluent-kafka): kafka-python decodes about 33k records/s here,
librdkafka over a million, and the delivery target is 200k/s on one core (bench/sink_throughput.py).
Each delivery stream has its own consumer group (``tidebox-sink-<name>``), and one process at a
time runs it (a lock file under the state folder). Offsets are committed after the state that
records a flush is written, for tools that read consumer lag; the state in the destination is
what delivery resumes from.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tidebox.core.clients import make_fast_consumer
from tidebox.core.errors import (
    KafkaUnavailableError,
    StreamNotFoundError,
    TideboxError,
)
from tidebox.core.settings import Settings, SinkSpec, StreamSpec, default_sink
from tidebox.core.signals import StopRequest
from tidebox.core.stores import Store, open_store
from tidebox.delivery.convert import Converter
from tidebox.delivery.delivery import DeliveryStream
from tidebox.delivery.ledger import ShardProgress, state_key
from tidebox.delivery.objects import DeliveredObject
from tidebox.lake.catalog import discover_partitions, using_catalog
from tidebox.lake.catalog_store import CatalogTable
from tidebox.lake.glue_types import arrow_glue_type

POLL_RECORDS = 10_000
LIVE_EVERY_SECONDS = 1.0


class SinkNotFoundError(TideboxError):
    """A command names a delivery stream nobody declared, for a stream nobody declared."""

    def __init__(self, name: str, known: list[str]) -> None:
        listing = ", ".join(known) or "none"
        super().__init__(f"unknown delivery stream '{name}' (declared: {listing})")
        self.name = name
        self.known = known


class SinkRunningError(TideboxError):
    """A delivery stream is already being run by another process."""

    def __init__(self, name: str, pid: str) -> None:
        super().__init__(f"delivery stream {name} is already running (pid {pid or '?'})")
        self.name = name


@dataclass(frozen=True)
class SinkResult:
    name: str
    stream: str
    records_in: int
    records_out: int
    records_failed: int
    records_dropped: int
    objects: tuple[DeliveredObject, ...]
    seconds: float

    @property
    def rows_landed(self) -> int:
        return self.records_out

    @property
    def errors(self) -> int:
        return self.records_failed

    @property
    def files(self) -> tuple[DeliveredObject, ...]:
        return tuple(o for o in self.objects if o.kind == "data")


def sink_group(name: str) -> str:
    return f"tidebox-sink-{name}"


def find_sink(settings: Settings, name: str, probe_kafka: bool = False) -> SinkSpec:
    """A declared delivery stream, the default one of a declared stream, or (for a stream
    nobody declared, that exists in Kafka or was delivered before) a default one with its
    columns inferred from the records."""
    spec = settings.sink(name)
    if spec is not None:
        return spec
    undeclared = default_sink(StreamSpec(name=name)) if _is_name(name) else None
    if undeclared is not None:
        store = open_store(str(settings.bucket_path))
        if store.exists(state_key(name)) or (probe_kafka and _stream_exists(settings, name)):
            return undeclared
    raise SinkNotFoundError(name, sorted({s.name for s in settings.sinks}))


def _is_name(name: str) -> bool:
    return bool(name) and all(c.isalnum() or c in "_-." for c in name)


def _stream_exists(settings: Settings, name: str) -> bool:
    """Whether Kafka holds a stream of that name (no when Kafka cannot be asked: the name is
    then reported as unknown rather than as a Kafka problem)."""
    from tidebox.streams.admin import list_streams

    try:
        return name in list_streams(settings)
    except KafkaUnavailableError:
        return False


def sink_columns(settings: Settings, spec: SinkSpec) -> dict[str, str]:
    """The schema of a delivery stream: its own columns, or those of the stream or table it
    names (by default its source stream)."""
    if spec.columns:
        return dict(spec.columns)
    source = spec.schema_source
    stream = settings.stream(source)
    if stream is not None and stream.columns:
        return dict(stream.columns)
    table = next((t for t in settings.tables if t.name == source), None)
    if table is not None and table.columns:
        return dict(table.columns)
    if spec.schema_table:
        raise TideboxError(
            f"delivery stream {spec.name}: schema_table '{spec.schema_table}' is no stream or "
            "table with columns"
        )
    return {}


def resolve_sink(settings: Settings, sink: str | SinkSpec, probe_kafka: bool = False) -> SinkSpec:
    """The spec of ``sink``: given, or found by name once (:func:`find_sink`)."""
    return sink if isinstance(sink, SinkSpec) else find_sink(settings, sink, probe_kafka)


def sink_store(settings: Settings, spec: SinkSpec) -> Store:
    """The destination of delivery stream ``spec``: its own, else the bucket."""
    return open_store(spec.destination or str(settings.bucket_path), settings.s3_endpoint)


def open_delivery(settings: Settings, spec: SinkSpec) -> DeliveryStream:
    """The delivery stream ``spec`` bound to its destination, not yet recovered."""
    return DeliveryStream(spec, sink_columns(settings, spec), sink_store(settings, spec))


def live_path(settings: Settings, name: str) -> Path:
    return settings.state_dir / "sinks" / name / "live.json"


def lock_path(settings: Settings, name: str) -> Path:
    """Held by the one process running delivery stream ``name``; it holds that pid."""
    return settings.state_dir / "sinks" / name / "lock"


@contextmanager
def _exclusive(settings: Settings, name: str) -> Iterator[None]:
    lock = lock_path(settings, name)
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            raise SinkRunningError(name, handle.read().strip()) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            live_path(settings, name).unlink(missing_ok=True)


def _consumer(settings: Settings, name: str) -> Any:
    return make_fast_consumer(
        settings, **{"group.id": sink_group(name), "client.id": f"tidebox-sink-{name}"}
    )


def run_sink(
    settings: Settings,
    sink: str | SinkSpec,
    until_caught_up: bool = True,
    progress: Callable[[int], None] | None = None,
) -> SinkResult:
    """Run delivery stream ``sink``: a spec, or the name of a declared one (or of a declared
    stream, for its default one).

    Bounded (``until_caught_up``): stop once every shard reaches the end it had at start.
    Continuous: stop on SIGTERM / Ctrl-C. Either way, deliver what is buffered before stopping.
    """
    spec = resolve_sink(settings, sink, probe_kafka=True)
    delivery = open_delivery(settings, spec)
    started = time.monotonic()
    with _exclusive(settings, spec.name):
        starts = delivery.recover()
        before = dict(delivery.progress)
        register_table(settings, delivery)
        consumer = _consumer(settings, spec.name)
        try:
            _deliver(settings, delivery, consumer, starts, until_caught_up, progress)
        finally:
            consumer.close()
    session = _diff(before, delivery)
    return SinkResult(
        name=delivery.name,
        stream=delivery.spec.stream,
        records_in=session["records_in"],
        records_out=session["records_out"],
        records_failed=session["records_failed"],
        records_dropped=session["records_dropped"],
        objects=tuple(delivery.delivered),
        seconds=time.monotonic() - started,
    )


def _deliver(
    settings: Settings,
    delivery: DeliveryStream,
    consumer: Any,
    starts: dict[int, int],
    until_caught_up: bool,
    progress: Callable[[int], None] | None,
) -> None:
    from confluent_kafka import KafkaException, TopicPartition

    topic = delivery.spec.stream
    try:
        metadata = consumer.list_topics(topic, timeout=10)
    except KafkaException as exc:
        raise KafkaUnavailableError(settings.kafka_bootstrap, str(exc)) from exc
    described = metadata.topics.get(topic)
    if described is None or described.error is not None or not described.partitions:
        raise StreamNotFoundError(topic)
    partitions = sorted(described.partitions)
    bounds = {
        p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10) for p in partitions
    }
    delivery.check_source({p: hi for p, (_, hi) in bounds.items()})
    positions = {p: max(starts.get(p, 0), bounds[p][0]) for p in partitions}
    consumer.assign([TopicPartition(topic, p, positions[p]) for p in partitions])
    ends = {p: bounds[p][1] for p in partitions}
    stop = StopRequest()
    last_live = 0.0
    with stop.installed():
        while not stop.requested:
            if until_caught_up and all(positions[p] >= ends[p] for p in partitions):
                break
            messages = consumer.consume(POLL_RECORDS, 0.2)
            _add(delivery, messages, positions)
            if until_caught_up and not messages:
                _refresh_positions(consumer, topic, partitions, positions)
            if progress and messages:
                progress(len(messages))
            due = delivery.due()
            if due:
                _flush(settings, consumer, delivery, topic, due, positions, final=False)
            now = time.monotonic()
            if now - last_live >= LIVE_EVERY_SECONDS:
                _write_live(settings, delivery, positions)
                last_live = now
    _flush(settings, consumer, delivery, topic, None, positions)


def _add(delivery: DeliveryStream, messages: list[Any], positions: dict[int, int]) -> None:
    """Buffer a consumer batch: runs of one shard at a time, by comprehension, not per record."""
    from confluent_kafka import Message

    records = [m for m in messages if m.error() is None]  # others: EOF notices, retried errors
    for partition, run in itertools.groupby(records, key=Message.partition):
        if partition is None:
            continue  # only error notices have no partition
        batch = list(run)
        offsets = [m.offset() for m in batch]
        delivery.add_many(
            partition,
            [m.value() or b"" for m in batch],
            offsets,
            [m.timestamp()[1] for m in batch],
        )
        if offsets[-1] >= positions[partition]:
            positions[partition] = offsets[-1] + 1


def _refresh_positions(
    consumer: Any, topic: str, partitions: list[int], positions: dict[int, int]
) -> None:
    """Move past transaction markers and aborted records, which deliver no message."""
    from confluent_kafka import TopicPartition

    for tp in consumer.position([TopicPartition(topic, p) for p in partitions]):
        if tp.offset >= 0 and tp.offset > positions[tp.partition]:
            positions[tp.partition] = tp.offset


def _flush(
    settings: Settings,
    consumer: Any,
    delivery: DeliveryStream,
    topic: str,
    partitions: list[int] | None,
    positions: dict[int, int],
    final: bool = True,
) -> None:
    from confluent_kafka import KafkaException, TopicPartition

    done = len(delivery.delivered)
    committed = delivery.flush(partitions, positions, final)
    if len(delivery.delivered) > done:
        register_partitions(settings, delivery, delivery.delivered[done:])
    if committed:
        offsets = [TopicPartition(topic, p, o) for p, o in committed.items()]
        # the state in the destination is what counts; the group's offsets catch up next time
        with contextlib.suppress(KafkaException):
            consumer.commit(offsets=offsets, asynchronous=False)


def delivery_table(delivery: DeliveryStream) -> CatalogTable:
    """The catalog table a delivery stream writes: under the fixed start of its prefix, with
    its Hive-style ``k=...`` folders as partition keys (none if its prefix has other folders)."""
    static = delivery.prefix.folder
    dynamic = delivery.prefix.text[len(static) :]
    segments = [s for s in dynamic.split("/") if s]
    names = [s.split("=", 1)[0] for s in segments]
    hive = bool(segments) and all(
        "=" in s and "!{" not in n for s, n in zip(segments, names, strict=True)
    )
    columns = delivery.converter.schema if isinstance(delivery.converter, Converter) else None
    return CatalogTable(
        name=delivery.name,
        location=delivery.store.uri(static).rstrip("/") + "/",
        format=delivery.spec.output_format,
        columns=tuple((f.name, arrow_glue_type(f.type)) for f in columns) if columns else (),
        partition_keys=tuple((n, "string") for n in names) if hive else (),
        source="delivery",
        parameters={"delivery_stream": delivery.name, "prefix": delivery.prefix.text},
    )


def register_table(settings: Settings, delivery: DeliveryStream) -> None:
    """Register the delivery stream's table, and the partitions already delivered."""
    with using_catalog(settings) as catalog:
        table = delivery_table(delivery)
        existing = catalog.find(table.name)
        if existing is not None and existing.source != "delivery":
            return  # a table of that name from elsewhere stays; the delivery still writes
        catalog.put(table)
        discover_partitions(settings, catalog, table)


def register_partitions(
    settings: Settings, delivery: DeliveryStream, objects: list[DeliveredObject]
) -> None:
    """Register the partitions of newly delivered objects, as the delivery writes them."""
    table = delivery_table(delivery)
    if not table.partition_keys:
        return
    static = delivery.prefix.folder
    depth = len(table.partition_keys)
    specs = sorted(
        {"/".join(o.key[len(static) :].split("/")[:depth]) for o in objects if o.kind == "data"}
    )
    with using_catalog(settings, declared=False) as catalog:  # registered at start already
        if catalog.find(table.name) is not None:
            catalog.add_partitions(table.name, specs)


def _diff(before: dict[int, ShardProgress], delivery: DeliveryStream) -> dict[str, int]:
    fields = ("records_in", "records_out", "records_failed", "records_dropped")
    totals = dict.fromkeys(fields, 0)
    for partition, now in delivery.progress.items():
        was = before.get(partition)
        for name in fields:
            totals[name] += getattr(now, name) - (getattr(was, name) if was else 0)
    return totals


def _write_live(settings: Settings, delivery: DeliveryStream, positions: dict[int, int]) -> None:
    """What only the running process knows, for ``tidebox sink status``."""
    path = live_path(settings, delivery.name)
    state = {
        "pid": os.getpid(),
        "updated": time.time(),
        "buffered_records": delivery.buffered_records,
        "buffered_bytes": delivery.buffered_bytes,
        "buffer_limit_bytes": delivery.buffer_bytes,
        "positions": {str(p): o for p, o in positions.items()},
    }
    tmp = path.with_name(".live.json.tmp")
    tmp.write_text(json.dumps(state))
    os.replace(tmp, path)


def drop_sink(settings: Settings, sink: str | SinkSpec) -> int:
    """Delete what delivery stream ``sink`` (a spec or a name) delivered and its state, and
    forget its consumer group's offsets, so that it delivers its stream afresh; return the
    objects deleted."""
    spec = resolve_sink(settings, sink)
    name = spec.name
    delivery = open_delivery(settings, spec)
    with _exclusive(settings, name):
        removed = delivery.drop()
        with using_catalog(settings) as catalog:
            table = catalog.find(name)
            if table is not None and table.source == "delivery":
                catalog.drop(table.name)
        try:
            from tidebox.core.clients import make_admin

            admin = make_admin(settings)
            try:
                if sink_group(name) in {g["group_id"] for g in admin.list_groups()}:
                    admin.delete_groups([sink_group(name)])
            finally:
                admin.close()
        except TideboxError:
            pass  # no Kafka now: the offsets are informational, the state is gone already
    return removed
