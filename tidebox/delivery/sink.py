"""The sink contract: what a consumer loop needs of a sink, apart from how a sink delivers.

As Quix Streams keeps its ``sinks/base/sink.py`` apart from its sinks: records go in with
:meth:`Sink.add` (or :meth:`Sink.add_many`, a run at a time), :meth:`Sink.due` says which
shards to deliver, and :meth:`Sink.flush` delivers what is buffered and says, per shard, the
offset delivery has reached (what the consumer may then commit).
"""

from __future__ import annotations

from abc import ABC, abstractmethod


class Sink(ABC):
    """Buffers records per source shard and delivers them on :meth:`flush`."""

    @abstractmethod
    def add(self, value: bytes, partition: int, offset: int, timestamp_ms: int) -> None:
        """Buffer one record of shard ``partition``."""

    @abstractmethod
    def add_many(
        self, partition: int, values: list[bytes], offsets: list[int], arrivals: list[int]
    ) -> None:
        """Buffer a run of records of shard ``partition``, in offset order (a consumer's
        batch, without a call per record)."""

    @abstractmethod
    def due(self, now: float | None = None) -> list[int]:
        """The shards whose buffer should be flushed now (by the buffering hints)."""

    @abstractmethod
    def flush(
        self,
        partitions: list[int] | None = None,
        positions: dict[int, int] | None = None,
        final: bool = True,
    ) -> dict[int, int]:
        """Deliver the buffers of ``partitions`` (all by default); return the next offset of
        each shard delivered, for the consumer to commit."""
