"""What every API call works with: the settings, the shared Kafka reader and writer, the shard
limits and the iterator codec, made once per endpoint process."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from tidebox.api.errors import ApiError, invalid_argument, not_found, unavailable
from tidebox.api.iterators import IteratorCodec
from tidebox.api.limits import ShardLimits
from tidebox.api.protocol import ACCOUNT
from tidebox.core.errors import KafkaUnavailableError, StreamNotFoundError, TideboxError
from tidebox.core.settings import Settings
from tidebox.streams.reader import ShardReader
from tidebox.streams.writer import ShardWriter, Written


@dataclass
class ApiContext:
    settings: Settings
    limits: ShardLimits
    iterators: IteratorCodec
    reader: ShardReader
    # services beside Kinesis keep their own state here (Firehose's running delivery streams)
    services: dict[str, Any] = field(default_factory=dict)
    _writer: ShardWriter | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def create(cls, settings: Settings) -> ApiContext:
        return cls(
            settings=settings,
            limits=ShardLimits(enabled=settings.shard_limits),
            iterators=IteratorCodec(settings.state_dir / "api" / "iterator.key"),
            reader=ShardReader(settings),
        )

    @property
    def writer(self) -> ShardWriter:
        """The shared producer, made on first use (the broker may start after the endpoint)."""
        with self._lock:
            if self._writer is None:
                try:
                    self._writer = ShardWriter(self.settings)
                except TideboxError as exc:
                    raise as_api_error(exc) from exc
            return self._writer

    def close(self) -> None:
        for service in self.services.values():
            closer = getattr(service, "close", None)
            if closer is not None:
                closer()
        if self._writer is not None:
            self._writer.close()
        self.reader.close()


def stream_arn(region: str, name: str) -> str:
    return f"arn:aws:kinesis:{region}:{ACCOUNT}:stream/{name}"


def as_api_error(error: TideboxError) -> ApiError:
    """The AWS error a tidebox error reads as."""
    if isinstance(error, StreamNotFoundError):
        return not_found(f"Stream {error.name} under account {ACCOUNT} not found.")
    if isinstance(error, KafkaUnavailableError):
        return unavailable(str(error))
    return invalid_argument(str(error))


def acknowledged(future: Future[Written]) -> Written:
    """Where a record sent through the shared writer landed, once Kafka acknowledged it; a
    failure as the AWS error it reads as."""
    try:
        return future.result()
    except TideboxError as exc:
        raise as_api_error(exc) from exc
