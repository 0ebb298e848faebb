"""Kinesis routing over Kafka partitions: hash-key ranges, shard ids and MD5 routing.

A stream of ``n`` shards is a topic of ``n`` partitions. As a new Kinesis stream does, shard
``i`` owns an even slice of the 128-bit hash-key space: ``[i * (2**128 // n), next start - 1]``,
the last shard running to ``2**128 - 1``. A record's hash key is the MD5 digest of its partition
key (UTF-8) read as an unsigned big-endian integer, unless the writer gives an explicit hash
key; it goes to the shard whose range holds that number. Every tidebox producer (replay, the
generator, the Kinesis API) routes this way, so a key lands on the same shard whichever sent it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from tidebox.core.errors import TideboxError

HASH_KEY_MAX = 2**128 - 1
_SHARD_ID = re.compile(r"^shardId-(\d{12})$")


@dataclass(frozen=True)
class HashKeyRange:
    """The hash keys one shard owns, both ends included."""

    start: int
    end: int

    def holds(self, hash_key: int) -> bool:
        return self.start <= hash_key <= self.end


def hash_key_ranges(shards: int) -> list[HashKeyRange]:
    """The even split of the hash-key space a new stream of ``shards`` shards gets."""
    if shards < 1:
        raise TideboxError(f"a stream needs at least one shard, got {shards}")
    width = (HASH_KEY_MAX + 1) // shards
    starts = [i * width for i in range(shards)]
    ends = [s - 1 for s in starts[1:]] + [HASH_KEY_MAX]
    return [HashKeyRange(s, e) for s, e in zip(starts, ends, strict=True)]


def hash_key_of(partition_key: str | bytes) -> int:
    """The 128-bit hash key Kinesis derives from a partition key: MD5 as an unsigned integer."""
    raw = partition_key.encode() if isinstance(partition_key, str) else partition_key
    return int.from_bytes(hashlib.md5(raw, usedforsecurity=False).digest(), "big")


def parse_hash_key(text: str) -> int:
    """An explicit hash key (a decimal string of 0 .. 2**128 - 1), or a TideboxError."""
    if not text.isdigit() or not text.isascii():
        raise TideboxError(f"explicit hash key '{text}' is not a decimal number")
    value = int(text)
    if value > HASH_KEY_MAX:
        raise TideboxError(f"explicit hash key '{text}' is above 2^128 - 1")
    return value


def shard_of_hash(hash_key: int, shards: int) -> int:
    """The shard (partition) whose hash-key range holds ``hash_key``."""
    width = (HASH_KEY_MAX + 1) // shards
    return min(hash_key // width, shards - 1)


class KeyRouter:
    """Partition key → shard for one stream, cached per key (a fleet has few keys)."""

    def __init__(self, shards: int) -> None:
        self.shards = shards
        self.cache: dict[bytes, int] = {}

    def __call__(self, key: bytes | None) -> int | None:
        """The shard of ``key``; None (the client picks) for a record without a key."""
        if key is None:
            return None
        found = self.cache.get(key)
        if found is None:
            found = shard_of_hash(hash_key_of(key), self.shards)
            self.cache[key] = found
        return found


def shard_id(shard: int) -> str:
    """Kinesis' name of shard ``shard``: ``shardId-000000000003``."""
    return f"shardId-{shard:012d}"


def parse_shard_id(text: str) -> int:
    """The shard number of ``shardId-000000000003`` (or of a bare number, as the CLI takes)."""
    if text.isdigit():
        return int(text)
    match = _SHARD_ID.match(text)
    if match is None:
        raise TideboxError(f"'{text}' is not a shard id (shardId-000000000000 or a number)")
    return int(match.group(1))
