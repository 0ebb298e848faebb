"""Kinesis hash-key ranges and MD5 routing, checked against the figures Kinesis documents."""

from __future__ import annotations

import hashlib
import itertools

import pytest

from tidebox.core.errors import TideboxError
from tidebox.streams.shards import (
    HASH_KEY_MAX,
    KeyRouter,
    hash_key_of,
    hash_key_ranges,
    parse_hash_key,
    parse_shard_id,
    shard_id,
    shard_of_hash,
)


def test_two_shards_split_the_space_as_kinesis_does() -> None:
    # the ranges a new two-shard Kinesis stream reports in DescribeStream
    first, second = hash_key_ranges(2)
    assert (first.start, first.end) == (0, 170141183460469231731687303715884105727)
    assert second.start == 170141183460469231731687303715884105728
    assert second.end == 340282366920938463463374607431768211455 == HASH_KEY_MAX


@pytest.mark.parametrize("shards", [1, 3, 4, 7, 64])
def test_ranges_cover_the_space_without_gaps(shards: int) -> None:
    ranges = hash_key_ranges(shards)
    assert ranges[0].start == 0 and ranges[-1].end == HASH_KEY_MAX
    assert all(a.end + 1 == b.start for a, b in itertools.pairwise(ranges))
    for key in ("device-1", "", "héllo", "x" * 256):
        hashed = hash_key_of(key)
        owner = shard_of_hash(hashed, shards)
        assert ranges[owner].holds(hashed)
        assert sum(r.holds(hashed) for r in ranges) == 1


def test_hash_key_is_md5_as_an_unsigned_integer() -> None:
    digest = hashlib.md5(b"device-7").hexdigest()
    assert hash_key_of("device-7") == int(digest, 16) == hash_key_of(b"device-7")


def test_router_matches_the_ranges_and_leaves_keyless_records_to_the_client() -> None:
    route = KeyRouter(4)
    ranges = hash_key_ranges(4)
    for n in range(50):
        key = f"device-{n}".encode()
        assert ranges[route(key) or 0].holds(hash_key_of(key))
    assert route(None) is None


def test_explicit_hash_keys_and_shard_ids() -> None:
    assert parse_hash_key("0") == 0
    assert parse_hash_key(str(HASH_KEY_MAX)) == HASH_KEY_MAX
    for bad in ("-1", "1e3", str(HASH_KEY_MAX + 1), "", "١٢"):
        with pytest.raises(TideboxError):
            parse_hash_key(bad)
    assert shard_id(3) == "shardId-000000000003"
    assert parse_shard_id("shardId-000000000003") == 3 == parse_shard_id("3")
    with pytest.raises(TideboxError):
        parse_shard_id("shard-3")
