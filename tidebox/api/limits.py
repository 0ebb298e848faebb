"""Kinesis' per-shard limits: writes of 1 MiB/s and 1,000 records/s, reads of 2 MiB/s and five
GetRecords calls a second, enforced on the API's calls with token buckets.

Each bucket holds one second of its rate and refills continuously, so a burst up to the
limit passes at once and a steady stream at the limit passes for ever. A read's bytes are
only known after reading: they are taken afterwards and may leave the bucket below zero,
and reads are refused until it refills, as Kinesis refuses GetRecords for the seconds after a
10 MiB response. The same module keeps each shard's use over the last minute, which
``stream describe`` shows against the limits.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field

WRITE_BYTES_PER_S = 1024 * 1024
WRITE_RECORDS_PER_S = 1000
READ_BYTES_PER_S = 2 * 1024 * 1024
READ_CALLS_PER_S = 5
WINDOW_S = 60


@dataclass
class Bucket:
    """A token bucket of ``rate`` tokens a second holding at most one second's worth."""

    rate: float
    tokens: float = -1.0
    stamp: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        if self.tokens < 0:
            self.tokens = self.rate

    def refill(self, now: float) -> None:
        self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now


@dataclass
class ShardUse:
    """One shard's buckets and its per-second counts over the last minute."""

    write_bytes: Bucket = field(default_factory=lambda: Bucket(WRITE_BYTES_PER_S))
    write_records: Bucket = field(default_factory=lambda: Bucket(WRITE_RECORDS_PER_S))
    read_bytes: Bucket = field(default_factory=lambda: Bucket(READ_BYTES_PER_S))
    read_calls: Bucket = field(default_factory=lambda: Bucket(READ_CALLS_PER_S))
    # per whole second: [second, records in, bytes in, calls, bytes out, records out, refused]
    seconds: deque[list[int]] = field(default_factory=lambda: deque(maxlen=WINDOW_S))

    def count(self, index: int, amount: int) -> None:
        second = int(time.time())
        if not self.seconds or self.seconds[-1][0] != second:
            self.seconds.append([second, 0, 0, 0, 0, 0, 0])
        self.seconds[-1][index] += amount


_RECORDS_IN, _BYTES_IN, _CALLS, _BYTES_OUT, _RECORDS_OUT, _REFUSED = range(1, 7)


class ShardLimits:
    """The buckets of every shard the endpoint has served; ``enabled=False`` only counts."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._shards: dict[tuple[str, int], ShardUse] = {}
        self._lock = threading.Lock()

    def _use(self, stream: str, shard: int) -> ShardUse:
        key = (stream, shard)
        found = self._shards.get(key)
        if found is None:
            found = self._shards[key] = ShardUse()
        return found

    def take_write(self, stream: str, shard: int, size: int) -> bool:
        """Whether one record of ``size`` bytes may be written to the shard now (and if so,
        its share of the limits is taken)."""
        with self._lock:
            use = self._use(stream, shard)
            now = time.monotonic()
            use.write_bytes.refill(now)
            use.write_records.refill(now)
            if self.enabled and (use.write_records.tokens < 1 or use.write_bytes.tokens < size):
                use.count(_REFUSED, 1)
                return False
            use.write_records.tokens -= 1
            use.write_bytes.tokens -= size
            use.count(_RECORDS_IN, 1)
            use.count(_BYTES_IN, size)
            return True

    def take_read_call(self, stream: str, shard: int) -> bool:
        """Whether a GetRecords call on the shard may run now."""
        with self._lock:
            use = self._use(stream, shard)
            now = time.monotonic()
            use.read_calls.refill(now)
            use.read_bytes.refill(now)
            if self.enabled and (use.read_calls.tokens < 1 or use.read_bytes.tokens < 0):
                use.count(_REFUSED, 1)
                return False
            use.read_calls.tokens -= 1
            use.count(_CALLS, 1)
            return True

    def took_read(self, stream: str, shard: int, records: int, size: int) -> None:
        """Charge a finished read's bytes to the shard."""
        with self._lock:
            use = self._use(stream, shard)
            use.read_bytes.tokens -= size
            use.count(_BYTES_OUT, size)
            use.count(_RECORDS_OUT, records)

    def forget(self, stream: str) -> None:
        with self._lock:
            for key in [k for k in self._shards if k[0] == stream]:
                del self._shards[key]

    def usage(self, stream: str) -> dict[int, dict[str, float]]:
        """Per shard of ``stream``: the busiest second of the last minute and the minute's
        mean, for records and bytes in, GetRecords calls and bytes out, and refused calls."""
        cutoff = int(time.time()) - WINDOW_S
        found: dict[int, dict[str, float]] = {}
        with self._lock:
            for (name, shard), use in self._shards.items():
                if name != stream:
                    continue
                rows = [s for s in use.seconds if s[0] > cutoff]
                names = ("records_in", "bytes_in", "calls", "bytes_out", "records_out", "refused")
                figures: dict[str, float] = {}
                for index, label in enumerate(names, start=1):
                    values = [row[index] for row in rows]
                    figures[f"{label}_peak"] = max(values, default=0)
                    figures[f"{label}_mean"] = sum(values) / WINDOW_S
                found[shard] = figures
        return found
