"""A delivery stream: records buffered per source shard and delivered as whole objects.

The façade over the delivery's parts, each of one concept: the sink contract
(:mod:`tidebox.delivery.sink`), the buffers and their hints (:mod:`tidebox.delivery.buffers`),
building objects from a buffer (:mod:`tidebox.delivery.objects`), and the exactly-once ledger
that owns the commit order and recovery (:mod:`tidebox.delivery.ledger`). A flush of a shard
runs the transform, converts to Parquet, splits by partition keys, and writes one object per
evaluated prefix and one per error output type.
"""

from __future__ import annotations

import time
from typing import Any

from tidebox.core.settings import SinkSpec
from tidebox.core.stores import Store
from tidebox.delivery.buffers import Buffer, Buffers
from tidebox.delivery.convert import Converter, InferringConverter
from tidebox.delivery.ledger import Ledger, ShardProgress
from tidebox.delivery.objects import Built, DeliveredObject, ObjectBuilder, own_objects
from tidebox.delivery.prefix import Prefix
from tidebox.delivery.quality import forget_quality
from tidebox.delivery.sink import Sink


class DeliveryStream(Sink):
    """One delivery stream at work: its buffers, its compiled options and its ledger."""

    def __init__(self, spec: SinkSpec, columns: dict[str, str], store: Store) -> None:
        self.spec = spec
        self.store = store
        self.name = spec.name
        self.builder = ObjectBuilder(spec, columns)
        self.ledger = Ledger(spec, store)
        self.buffers = Buffers(spec.buffer_bytes, float(spec.buffering_hints.interval_in_seconds))
        self.delivered: list[DeliveredObject] = []

    # -- what the runner and status read ---------------------------------------------------------
    @property
    def prefix(self) -> Prefix:
        return self.builder.prefix

    @property
    def error_prefix(self) -> Prefix:
        return self.builder.error_prefix

    @property
    def converter(self) -> Converter | InferringConverter | None:
        return self.builder.converter

    @property
    def buffer_bytes(self) -> int:
        return self.buffers.size_hint

    @property
    def version(self) -> int:
        return self.ledger.version

    @property
    def progress(self) -> dict[int, ShardProgress]:
        return self.ledger.progress

    @property
    def buffered_records(self) -> int:
        return self.buffers.records

    @property
    def buffered_bytes(self) -> int:
        return self.buffers.bytes

    # -- the ledger ------------------------------------------------------------------------------
    def read_state(self) -> dict[str, Any]:
        """The recorded state ({} before the first run)."""
        return self.ledger.read()

    def recover(self) -> dict[int, int]:
        """Finish or undo a flush cut short, and return where each shard resumes."""
        return self.ledger.recover(self._folders())

    def check_source(self, ends: dict[int, int]) -> None:
        """Refuse to resume past the end of a shard: its stream was deleted and recreated."""
        self.ledger.check_source(ends)

    # -- the sink contract -----------------------------------------------------------------------
    def add(self, value: bytes, partition: int, offset: int, timestamp_ms: int) -> None:
        """Buffer one record of shard ``partition``."""
        self.buffers.add_many(partition, [value], [offset], [timestamp_ms])

    def add_many(
        self, partition: int, values: list[bytes], offsets: list[int], arrivals: list[int]
    ) -> None:
        """:meth:`add` for a run of records of one shard, in offset order: what a consumer's
        batch gives (the runner's path), at a fraction of the per-record cost."""
        self.buffers.add_many(partition, values, offsets, arrivals)

    def due(self, now: float | None = None) -> list[int]:
        """The shards whose buffer has reached the size or the interval hint."""
        return self.buffers.due(now)

    def flush(
        self,
        partitions: list[int] | None = None,
        positions: dict[int, int] | None = None,
        final: bool = True,
    ) -> dict[int, int]:
        """Deliver the buffers of ``partitions`` (all by default); return their next offsets.

        A buffer larger than the size hint becomes several objects, each cut where its records
        reach the hint. Unless ``final`` or its interval has passed, the rest of a buffer (below
        the hint) stays buffered. ``positions`` are the consumer's positions: past the last
        record when the stream holds transaction markers, which need not be read again.
        """
        now = time.monotonic()
        after = dict(self.progress)
        objects: Built = []
        delivered: dict[int, int] = {}
        leftovers: dict[int, Buffer | None] = {}
        for partition in partitions or list(self.buffers.shards):
            buffer = self.buffers.shards.get(partition)
            if buffer is None or not buffer.values:
                continue
            chunks, rest = self.buffers.cut(buffer, final or self.buffers.expired(buffer, now))
            if not chunks:
                continue
            progress = after.get(partition, ShardProgress())
            for chunk in chunks:
                built, delta = self.builder.build(partition, chunk, self.version)
                objects.extend(built)
                progress = progress.plus(delta, chunk.offsets[-1] + 1)
            if rest is None:
                position = (positions or {}).get(partition, 0)
                progress.next_offset = max(progress.next_offset, position)
            after[partition] = progress
            delivered[partition] = progress.next_offset
            leftovers[partition] = rest
        if not delivered:
            return {}
        self.ledger.commit([(o.key, data) for o, data in objects], after)
        # only now: a commit that raises leaves the buffers whole, for a retried flush
        for partition, rest in leftovers.items():
            self.buffers.keep(partition, rest)
        self.delivered.extend(o for o, _ in objects)
        return delivered

    # -- forgetting ------------------------------------------------------------------------------
    def drop(self) -> int:
        """Delete every object this delivery stream wrote, and its state; return how many."""
        removed = 0
        own = own_objects(self.name)
        for root in self._folders():
            for key, _ in self.store.list(root):
                if own.match(key.rsplit("/", 1)[-1]):
                    self.store.delete(key)
                    removed += 1
        self.ledger.forget()
        forget_quality(self.store, self.name)
        return removed

    def _folders(self) -> set[str]:
        """The fixed starts of the data and error prefixes: where this stream's objects are."""
        return {self.prefix.folder, self.error_prefix.folder}


__all__ = ["DeliveredObject", "DeliveryStream", "ShardProgress"]
