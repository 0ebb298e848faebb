"""Write single records to named shards and learn each one's sequence number, as PutRecord does.

One librdkafka producer (idempotent, acks from every replica) is shared by all callers; a
background thread serves its delivery reports, so a caller waits only for its own records.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from tidebox.core.clients import check_reachable, stream_partitions
from tidebox.core.errors import KafkaUnavailableError, StreamNotFoundError, TideboxError
from tidebox.core.settings import Settings

# how long a record may wait for the broker's acknowledgement before it counts as failed
DELIVERY_TIMEOUT_MS = 30_000


@dataclass(frozen=True)
class Written:
    """Where an acknowledged record landed: its shard and sequence number (offset)."""

    shard: int
    sequence: int


class ShardWriter:
    """Sends records to given shards and hands back a future of each one's position."""

    def __init__(self, settings: Settings) -> None:
        from confluent_kafka import Producer

        check_reachable(settings)
        self.settings = settings
        self._producer = Producer(
            {
                "bootstrap.servers": settings.kafka_bootstrap,
                "acks": "all",
                "enable.idempotence": True,
                "linger.ms": 2,
                "message.timeout.ms": DELIVERY_TIMEOUT_MS,
                "message.max.bytes": 12 * 1024 * 1024,
                "log_level": 0,
            }
        )
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._serve, name="tidebox-writer", daemon=True)
        self._poller.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            self._producer.poll(0.05)

    def shards(self, stream: str) -> int:
        """How many shards (partitions) ``stream`` has, from fresh metadata; StreamNotFoundError
        when there is no such stream (the broker never creates topics on its own)."""
        return len(stream_partitions(self._producer, self.settings, stream))

    def send(self, stream: str, shard: int, key: bytes | None, data: bytes) -> Future[Written]:
        """Queue one record for ``shard`` of an existing stream (see :meth:`shards`); the
        future holds its position once acknowledged, or a TideboxError (StreamNotFoundError,
        KafkaUnavailableError) if it was not."""
        future: Future[Written] = Future()

        def report(error: Any, message: Any) -> None:
            if error is None:
                future.set_result(Written(message.partition(), message.offset()))
            else:
                future.set_exception(self._failure(stream, error))

        while True:
            try:
                self._producer.produce(stream, data, key, partition=shard, on_delivery=report)
                return future
            except BufferError:
                self._producer.poll(0.05)  # the local queue is full: let reports drain it
            except Exception as exc:  # KafkaException for an unusable topic or record
                future.set_exception(self._failure(stream, exc.args[0] if exc.args else exc))
                return future

    def _failure(self, stream: str, error: Any) -> TideboxError:
        text = error.str() if hasattr(error, "str") else str(error)
        if "UNKNOWN_TOPIC" in text or "Unknown topic" in text or "UNKNOWN_PARTITION" in text:
            return StreamNotFoundError(stream)
        return KafkaUnavailableError(self.settings.kafka_bootstrap, f"not acknowledged: {text}")

    def close(self) -> None:
        self._producer.flush(DELIVERY_TIMEOUT_MS / 1000)
        self._stop.set()
        self._poller.join()
