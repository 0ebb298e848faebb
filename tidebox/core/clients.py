"""Kafka clients made in one place, so that an unreachable broker always reads the same way."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from typing import Any, TypeVar

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError

from tidebox.core.errors import KafkaUnavailableError, StreamNotFoundError
from tidebox.core.settings import Settings

# kafka-python logs every failed connection attempt at ERROR; tidebox reports them itself.
logging.getLogger("kafka").setLevel(logging.CRITICAL)

T = TypeVar("T")

_TIMEOUTS = {"request_timeout_ms": 15000}


def _hint(settings: Settings) -> str:
    if settings.embedded:
        return "start the embedded broker with 'tidebox up'"
    return "check bootstrap_servers / TIDEBOX_BOOTSTRAP_SERVERS"


def check_reachable(settings: Settings, timeout_s: float = 2.0) -> None:
    """Fail fast with one clear line when no bootstrap server accepts a TCP connection.

    kafka-python itself only gives up after its full bootstrap timeout (30 s).
    """
    for server in settings.kafka_bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout_s):
                return
        except (OSError, ValueError):
            continue
    raise KafkaUnavailableError(settings.kafka_bootstrap, _hint(settings))


_PRODUCER_DEFAULTS: dict[str, Any] = {
    "acks": "all",
    "linger_ms": 20,
    "batch_size": 256 * 1024,
    "enable_idempotence": True,
}
_CONSUMER_DEFAULTS: dict[str, Any] = {
    "enable_auto_commit": False,
    "auto_offset_reset": "earliest",
    # Flink jobs write in Kafka transactions: read only what their checkpoints committed
    "isolation_level": "read_committed",
}


def _connect(client: Callable[..., T], settings: Settings, options: dict[str, Any]) -> T:
    """A client of ``client``'s class, or KafkaUnavailableError when the broker does not answer."""
    check_reachable(settings)
    try:
        return client(bootstrap_servers=settings.kafka_bootstrap, **{**_TIMEOUTS, **options})
    except (KafkaError, OSError) as exc:
        raise KafkaUnavailableError(settings.kafka_bootstrap, _hint(settings)) from exc


def make_admin(settings: Settings) -> KafkaAdminClient:
    return _connect(KafkaAdminClient, settings, {})


def make_producer(settings: Settings, **options: Any) -> KafkaProducer:
    """A producer that waits for every replica and never writes a record twice on retry."""
    return _connect(KafkaProducer, settings, {**_PRODUCER_DEFAULTS, **options})


def make_consumer(settings: Settings, **options: Any) -> KafkaConsumer:
    """A consumer that commits only when told to, starts at the earliest offset and reads only
    committed records."""
    return _connect(KafkaConsumer, settings, {**_CONSUMER_DEFAULTS, **options})


def make_fast_consumer(settings: Settings, **config: Any) -> Any:
    """A librdkafka consumer (confluent-kafka) for reading in bulk, where kafka-python reads
    ~35k records/s here: committed records only, offsets committed only when told to.

    Fetches are sized up: with librdkafka's defaults (or a queue no larger than one fetch) it
    reads ~250k records/s on one core here, with these ~1.2M. ``config`` adds librdkafka
    settings (``group.id``, ``client.id``, ...).
    """
    from confluent_kafka import Consumer

    check_reachable(settings)
    return Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": "tidebox-reader",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            # Flink jobs write in Kafka transactions: read only what their checkpoints committed
            "isolation.level": "read_committed",
            "fetch.max.bytes": 64 * 1024 * 1024,
            "max.partition.fetch.bytes": 32 * 1024 * 1024,
            "queued.max.messages.kbytes": 128 * 1024,
            "queued.min.messages": 500_000,
            "log_level": 0,
            **config,
        }
    )


# librdkafka fails a record it could not deliver within this long (Java's delivery.timeout.ms)
FAST_PRODUCER_TIMEOUT_MS = 120_000


def make_fast_producer(settings: Settings, **config: Any) -> Any:
    """A librdkafka producer (confluent-kafka) for sending in bulk, where kafka-python sends
    ~15k records/s here: every record waits for all replicas (acks=all), and idempotence
    keeps a retried batch from being written twice or out of order.

    Batches are large and wait up to 20 ms to fill (librdkafka's 1 MB per request, its 5 ms
    default linger sends smaller ones), and the queue holds up to a million records, so that
    a fast sender rarely waits. ``config`` adds librdkafka settings (``on_delivery``, ...).
    """
    from confluent_kafka import Producer

    check_reachable(settings)
    return Producer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": 20,
            "batch.size": 1_000_000,
            "batch.num.messages": 100_000,
            "queue.buffering.max.messages": 1_000_000,
            "queue.buffering.max.kbytes": 512 * 1024,
            "message.timeout.ms": FAST_PRODUCER_TIMEOUT_MS,
            "log_level": 0,
            **config,
        }
    )


def stream_partitions(client: Any, settings: Settings, stream: str) -> list[int]:
    """The partitions (shards) of ``stream`` from fresh metadata, asked of any librdkafka
    client: StreamNotFoundError when there is no such topic (the broker never creates topics on
    its own), KafkaUnavailableError when the broker does not answer."""
    from confluent_kafka import KafkaException

    try:
        metadata = client.list_topics(stream, timeout=10)
    except KafkaException as exc:
        raise KafkaUnavailableError(settings.kafka_bootstrap, str(exc)) from exc
    topic = metadata.topics.get(stream)
    if topic is None or topic.error is not None or not topic.partitions:
        raise StreamNotFoundError(stream)
    return sorted(topic.partitions)
