"""Kinesis' per-shard limits as token buckets, and the shard iterator tokens, without a broker."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tidebox.api.errors import ApiError
from tidebox.api.iterators import LIFETIME_S, IteratorCodec
from tidebox.api.limits import ShardLimits


def test_a_shard_takes_a_thousand_records_at_once_then_a_thousand_a_second() -> None:
    limits = ShardLimits()
    taken = sum(limits.take_write("s", 0, 10) for _ in range(1500))
    assert 1000 <= taken <= 1010  # the bucket refills while the loop runs
    assert limits.take_write("s", 1, 10)  # another shard has its own buckets
    time.sleep(0.1)  # refills continuously: about 100 more
    assert 80 <= sum(limits.take_write("s", 0, 10) for _ in range(300)) <= 130


def test_bytes_limit_writes_and_large_reads_hold_back_later_ones() -> None:
    limits = ShardLimits()
    assert limits.take_write("s", 0, 1024 * 1024)
    assert not limits.take_write("s", 0, 10_000)  # the MiB is spent
    assert limits.take_read_call("s", 0)
    limits.took_read("s", 0, records=1, size=10 * 1024 * 1024)  # a 10 MiB answer
    assert not limits.take_read_call("s", 0)  # refused until 2 MiB/s has paid it back
    usage = limits.usage("s")[0]
    assert usage["refused_peak"] == 2 and usage["bytes_out_peak"] == 10 * 1024 * 1024


def test_five_read_calls_a_second() -> None:
    limits = ShardLimits()
    assert [limits.take_read_call("s", 0) for _ in range(7)] == [True] * 5 + [False] * 2


def test_switched_off_limits_only_count() -> None:
    limits = ShardLimits(enabled=False)
    assert all(limits.take_write("s", 0, 1024 * 1024) for _ in range(50))
    assert limits.usage("s")[0]["records_in_peak"] == 50


def test_iterators_round_trip_and_refuse_forgeries(tmp_path: Path) -> None:
    codec = IteratorCodec(tmp_path / "key")
    token = codec.encode("readings", 3, 42)
    decoded = codec.decode(token)
    assert (decoded.stream, decoded.shard, decoded.sequence) == ("readings", 3, 42)
    assert IteratorCodec(tmp_path / "key").decode(token) == decoded  # a restart keeps the key
    text, _, signature = token.partition(".")
    forged = codec.encode("readings", 3, 0).partition(".")[0] + "." + signature
    for bad in (forged, text, "", "a.b", token + "x"):
        with pytest.raises(ApiError) as caught:
            codec.decode(bad)
        assert caught.value.kind == "InvalidArgumentException"
    with pytest.raises(ApiError) as caught:
        codec.decode(codec.encode("readings", 3, 42, issued=time.time() - LIFETIME_S - 1))
    assert caught.value.kind == "ExpiredIteratorException"
    assert len(token) <= 512
