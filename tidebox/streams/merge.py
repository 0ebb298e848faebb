"""Merge files' records by event time, a chunk at a time, in memory bounded by the chunk size.

Each file is read chunk by chunk. The merge holds, per file, what it has read and not yet
given out, sorted by event time. Each round, every file holding less than a chunk reads its
next chunk; then every held record up to the earliest of the files' latest held times (among
the files not yet at their end) is given out, in event-time order, ties by file then row
(records of that very time wait in the files after the one that set the bound, which may read
more of them). The file that set the bound has given out all it held, so the next round moves
on; no file holds more than two chunks.

So a file that fits in one chunk is given out fully sorted, and several files interleave as
one sorted whole as long as each file is in time order between its chunks. A record that goes
back in time across a chunk boundary (earlier than records already given out) is given out
with the next round, as it was recorded: late.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa


@dataclass(frozen=True)
class Batch:
    """Records ready to send: event times (epoch ms), JSON values and keys (None: no keys)."""

    times: np.ndarray
    values: pa.Array
    keys: pa.Array | None

    def __len__(self) -> int:
        return len(self.times)

    def take(self, order: np.ndarray) -> Batch:
        picked = pa.array(order, pa.int64())
        keys = None if self.keys is None else self.keys.take(picked)
        return Batch(self.times[order], self.values.take(picked), keys)

    def slice(self, start: int, stop: int | None = None) -> Batch:
        stop = len(self) if stop is None else stop
        keys = None if self.keys is None else self.keys.slice(start, stop - start)
        return Batch(self.times[start:stop], self.values.slice(start, stop - start), keys)

    def sorted(self) -> Batch:
        """By event time; records of the same time keep their order."""
        if len(self) < 2 or bool((np.diff(self.times) >= 0).all()):
            return self
        return self.take(np.argsort(self.times, kind="stable"))


def concat(batches: Sequence[Batch]) -> Batch:
    """The batches one after the other."""
    if len(batches) == 1:
        return batches[0]
    keys: pa.Array | None = None
    if any(b.keys is not None for b in batches):
        keys = pa.concat_arrays(
            [b.keys if b.keys is not None else pa.nulls(len(b), pa.binary()) for b in batches]
        )
    return Batch(
        np.concatenate([b.times for b in batches]),
        pa.concat_arrays([b.values for b in batches]),
        keys,
    )


def merge_by_time(files: Sequence[Iterator[Batch]], chunk_rows: int) -> Iterator[Batch]:
    """The files' records merged by event time (see the module), batch by batch."""
    held: list[Batch | None] = [None] * len(files)
    reading = [True] * len(files)

    def refill(i: int) -> None:
        """Read file ``i``'s next chunk if it holds less than one; empty chunks do not count."""
        while reading[i]:
            current = held[i]
            if current is not None and len(current) >= chunk_rows:
                return
            chunk = next(files[i], None)
            if chunk is None:
                reading[i] = False
            elif len(chunk):
                held[i] = (chunk if current is None else concat([current, chunk])).sorted()
                return

    while any(reading) or any(h is not None for h in held):
        for i in range(len(files)):
            refill(i)
        ends = [(h.times[-1], i) for i, h in enumerate(held) if reading[i] and h is not None]
        out = _give_out(held, min(ends) if ends else None)
        if out:
            yield concat(out).sorted()


def _give_out(held: list[Batch | None], bound: tuple[int, int] | None) -> list[Batch]:
    """Take from ``held`` (in place) what can go out now, file by file.

    ``bound`` is the earliest latest time of the files still reading, and the first file
    with that latest time. Records up to that time go out, except that files after that file
    keep their records of that very time: that file may read more of them, and they come
    first. That file gives out all it holds, so every round moves on.
    """
    out = []
    for i, current in enumerate(held):
        if current is None:
            continue
        count = len(current)
        if bound is not None:
            ties = i <= bound[1]
            count = int(np.searchsorted(current.times, bound[0], side="right" if ties else "left"))
        if count:
            out.append(current.slice(0, count))
            held[i] = current.slice(count) if count < len(current) else None
    return out


def in_file_order(files: Iterable[Iterator[Batch]]) -> Iterator[Batch]:
    """The files' records as the files hold them, one file after the other."""
    for source in files:
        for batch in source:
            if len(batch):
                yield batch
