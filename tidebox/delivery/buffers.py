"""Per-shard buffers against Firehose's buffering hints: when a shard is due, where to cut it.

A shard's buffer is due when it reaches the size hint or has been open for the interval hint.
A buffer larger than the size hint is cut into several, each ending where its records reach
the hint; what is left below the hint waits unless the whole buffer is to go.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field


@dataclass
class Buffer:
    """Records of one shard in offset order, with their arrival times (ms)."""

    values: list[bytes] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)
    arrivals: list[int] = field(default_factory=list)
    size: int = 0
    opened: float = 0.0

    def slice(self, start: int, end: int, size: int) -> Buffer:
        """Records ``start:end`` (of ``size`` bytes), opened when this buffer was."""
        return Buffer(
            self.values[start:end],
            self.offsets[start:end],
            self.arrivals[start:end],
            size,
            self.opened,
        )


class Buffers:
    """The open buffers of a delivery stream, one per source shard."""

    def __init__(self, size_hint: int, interval: float) -> None:
        self.size_hint = size_hint
        self.interval = interval
        self.shards: dict[int, Buffer] = defaultdict(Buffer)

    def add_many(
        self, partition: int, values: list[bytes], offsets: list[int], arrivals: list[int]
    ) -> None:
        """Buffer a run of records of one shard, in offset order."""
        if not values:
            return
        buffer = self.shards[partition]
        if not buffer.values:
            buffer.opened = time.monotonic()
        buffer.values.extend(values)
        buffer.offsets.extend(offsets)
        buffer.arrivals.extend(arrivals)
        buffer.size += sum(map(len, values))

    def due(self, now: float | None = None) -> list[int]:
        """The shards whose buffer has reached the size or the interval hint."""
        now = time.monotonic() if now is None else now
        return [
            p
            for p, b in self.shards.items()
            if b.values and (b.size >= self.size_hint or self.expired(b, now))
        ]

    def expired(self, buffer: Buffer, now: float) -> bool:
        """Whether ``buffer`` has been open for the interval hint."""
        return now - buffer.opened >= self.interval

    @property
    def records(self) -> int:
        return sum(len(b.values) for b in self.shards.values())

    @property
    def bytes(self) -> int:
        return sum(b.size for b in self.shards.values())

    def cut(self, buffer: Buffer, whole: bool) -> tuple[list[Buffer], Buffer | None]:
        """Slices of ``buffer`` that reach the size hint (and, if ``whole``, the rest too), and
        what is left (None if nothing)."""
        chunks: list[Buffer] = []
        start, size = 0, 0
        for i, value in enumerate(buffer.values):
            size += len(value)
            if size >= self.size_hint:
                chunks.append(buffer.slice(start, i + 1, size))
                start, size = i + 1, 0
        rest = buffer.slice(start, len(buffer.values), size) if start < len(buffer.values) else None
        if whole and rest is not None:
            chunks.append(rest)
            rest = None
        return chunks, rest

    def keep(self, partition: int, rest: Buffer | None) -> None:
        """What stays buffered of a shard after a flush: ``rest``, or nothing."""
        if rest is None:
            del self.shards[partition]
        else:
            self.shards[partition] = rest
