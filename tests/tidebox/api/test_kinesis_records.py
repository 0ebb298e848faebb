"""Kinesis' data plane through real boto3: puts routed by hash key, reads from every iterator
position, iterator expiry, and the per-shard limits with their partial failures."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support import unique
from tests.tidebox.api.conftest import client, error_of
from tidebox.api.iterators import LIFETIME_S
from tidebox.api.server import ServerThread
from tidebox.streams.shards import hash_key_of, hash_key_ranges, shard_id

pytestmark = pytest.mark.integration


def make_stream(kinesis: Any, shards: int) -> str:
    name = unique("kds")
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    return name


def read_all(kinesis: Any, name: str, shard: str, **position: Any) -> list[dict[str, Any]]:
    iterator = kinesis.get_shard_iterator(StreamName=name, ShardId=shard, **position)
    token, found = iterator["ShardIterator"], []
    while True:
        page = kinesis.get_records(ShardIterator=token, Limit=1000)
        found += page["Records"]
        token = page["NextShardIterator"]
        if not page["Records"] and page["MillisBehindLatest"] == 0:
            return found


def test_records_land_on_the_shard_of_their_hash_key(kinesis: Any) -> None:
    name = make_stream(kinesis, 4)
    ranges = hash_key_ranges(4)
    keys = [f"device-{n}" for n in range(40)]
    answer = kinesis.put_records(
        StreamName=name,
        Records=[{"Data": f'{{"n": {i}}}'.encode(), "PartitionKey": k} for i, k in enumerate(keys)],
    )
    assert answer["FailedRecordCount"] == 0
    for key, result in zip(keys, answer["Records"], strict=True):
        owner = next(i for i, r in enumerate(ranges) if r.holds(hash_key_of(key)))
        assert result["ShardId"] == shard_id(owner)
    explicit = kinesis.put_record(
        StreamName=name, Data=b"x", PartitionKey="any", ExplicitHashKey=str(ranges[2].start)
    )
    assert explicit["ShardId"] == shard_id(2)

    landed = {
        shard_id(i): read_all(kinesis, name, shard_id(i), ShardIteratorType="TRIM_HORIZON")
        for i in range(4)
    }
    assert sum(len(v) for v in landed.values()) == 41
    for result, key in zip(answer["Records"], keys, strict=True):
        match = [
            r for r in landed[result["ShardId"]] if r["SequenceNumber"] == result["SequenceNumber"]
        ]
        assert [r["PartitionKey"] for r in match] == [key]
    for shard_records in landed.values():
        sequences = [int(r["SequenceNumber"]) for r in shard_records]
        assert sequences == sorted(sequences)


def test_iterator_positions(kinesis: Any) -> None:
    name = make_stream(kinesis, 1)
    shard = shard_id(0)
    first = [
        kinesis.put_record(StreamName=name, Data=f"a{i}".encode(), PartitionKey="k")
        for i in range(3)
    ]
    latest = kinesis.get_shard_iterator(StreamName=name, ShardId=shard, ShardIteratorType="LATEST")
    time.sleep(0.01)  # the next puts arrive strictly after this instant
    middle = datetime.now(UTC)
    for i in range(3):
        kinesis.put_record(StreamName=name, Data=f"b{i}".encode(), PartitionKey="k")

    def data(records: list[dict[str, Any]]) -> list[bytes]:
        return [r["Data"] for r in records]

    assert data(read_all(kinesis, name, shard, ShardIteratorType="TRIM_HORIZON")) == [
        b"a0",
        b"a1",
        b"a2",
        b"b0",
        b"b1",
        b"b2",
    ]
    page = kinesis.get_records(ShardIterator=latest["ShardIterator"])
    assert data(page["Records"]) == [b"b0", b"b1", b"b2"]
    at = first[1]["SequenceNumber"]
    assert data(
        read_all(
            kinesis, name, shard, ShardIteratorType="AT_SEQUENCE_NUMBER", StartingSequenceNumber=at
        )
    )[:2] == [b"a1", b"a2"]
    assert data(
        read_all(
            kinesis,
            name,
            shard,
            ShardIteratorType="AFTER_SEQUENCE_NUMBER",
            StartingSequenceNumber=at,
        )
    )[:1] == [b"a2"]
    assert data(
        read_all(kinesis, name, shard, ShardIteratorType="AT_TIMESTAMP", Timestamp=middle)
    ) == [b"b0", b"b1", b"b2"]
    arrival = page["Records"][0]["ApproximateArrivalTimestamp"]
    assert abs((arrival - middle).total_seconds()) < 30
    behind = kinesis.get_records(
        ShardIterator=kinesis.get_shard_iterator(
            StreamName=name, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"],
        Limit=1,
    )
    assert behind["MillisBehindLatest"] >= 0 and len(behind["Records"]) == 1

    code, _, _ = error_of(
        kinesis.get_shard_iterator,
        StreamName=name,
        ShardId=shard,
        ShardIteratorType="AT_SEQUENCE_NUMBER",
        StartingSequenceNumber="999999",
    )
    assert code == "InvalidArgumentException"
    code, _, message = error_of(
        kinesis.get_shard_iterator, StreamName=name, ShardId=shard_id(5), ShardIteratorType="LATEST"
    )
    assert code == "ResourceNotFoundException" and shard_id(5) in message


def test_expired_iterators_are_refused(endpoint: ServerThread, kinesis: Any) -> None:
    name = make_stream(kinesis, 1)
    codec = endpoint.server.config.app.state.context.iterators
    old = codec.encode(name, 0, 0, issued=time.time() - LIFETIME_S - 1)
    assert error_of(kinesis.get_records, ShardIterator=old)[0] == "ExpiredIteratorException"
    fresh = codec.encode(name, 0, 0, issued=time.time() - LIFETIME_S + 30)
    assert kinesis.get_records(ShardIterator=fresh)["Records"] == []


def test_oversize_records_and_bad_hash_keys(kinesis: Any) -> None:
    name = make_stream(kinesis, 1)
    big = b"x" * (1024 * 1024)
    assert error_of(kinesis.put_record, StreamName=name, Data=big, PartitionKey="k")[0] == (
        "ValidationException"
    )
    code, _, _ = error_of(
        kinesis.put_records, StreamName=name, Records=[{"Data": big, "PartitionKey": "k"}]
    )
    assert code == "ValidationException"
    code, _, _ = error_of(
        kinesis.put_record,
        StreamName=name,
        Data=b"x",
        PartitionKey="k",
        ExplicitHashKey=str(2**128),
    )
    assert code in ("InvalidArgumentException", "ValidationException")
    assert (
        error_of(kinesis.put_record, StreamName=unique("absent"), Data=b"x", PartitionKey="k")[0]
        == "ResourceNotFoundException"
    )
    # nothing of the refused calls was written
    assert read_all(kinesis, name, shard_id(0), ShardIteratorType="TRIM_HORIZON") == []


def test_writes_over_the_shard_limit_fail_per_entry(kinesis: Any) -> None:
    name = make_stream(kinesis, 1)
    kinesis.put_record(StreamName=name, Data=b"warm", PartitionKey="k")  # connections made
    accepted: list[dict[str, Any]] = []
    refused = 0
    started = time.monotonic()
    for _ in range(5):  # 2,500 records: a shard takes 1,000 at once and 1,000 a second
        answer = kinesis.put_records(
            StreamName=name,
            Records=[{"Data": b"r", "PartitionKey": "k"} for _ in range(500)],
        )
        for entry in answer["Records"]:
            if "ErrorCode" in entry:
                assert entry["ErrorCode"] == "ProvisionedThroughputExceededException"
                assert "Rate exceeded for shard shardId-000000000000" in entry["ErrorMessage"]
                refused += 1
            else:
                accepted.append(entry)
        assert answer["FailedRecordCount"] == sum("ErrorCode" in e for e in answer["Records"])
    elapsed = time.monotonic() - started
    assert len(accepted) <= 1000 + 1000 * elapsed
    assert refused == 2500 - len(accepted) > 0
    with pytest.raises(ClientError) as caught:
        for _ in range(20):
            kinesis.put_record(StreamName=name, Data=b"x" * 200_000, PartitionKey="k")
    assert caught.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    landed = read_all(kinesis, name, shard_id(0), ShardIteratorType="TRIM_HORIZON")
    assert {r["SequenceNumber"] for r in landed} >= {e["SequenceNumber"] for e in accepted}


def test_reads_over_the_shard_limit_are_throttled(kinesis: Any) -> None:
    name = make_stream(kinesis, 1)
    iterator = kinesis.get_shard_iterator(
        StreamName=name, ShardId=shard_id(0), ShardIteratorType="LATEST"
    )["ShardIterator"]
    codes = []
    for _ in range(8):
        try:
            iterator = kinesis.get_records(ShardIterator=iterator)["NextShardIterator"]
            codes.append("ok")
        except ClientError as exc:
            codes.append(exc.response["Error"]["Code"])
    assert codes.count("ok") <= 6 and "ProvisionedThroughputExceededException" in codes


def test_limits_switched_off(api_settings: Any) -> None:
    from tests.support import free_port
    from tidebox.api.server import start_in_thread

    settings = api_settings.model_copy(update={"api_port": free_port(), "shard_limits": False})
    running = start_in_thread(settings)
    try:
        kinesis = client("kinesis", running.url)
        name = make_stream(kinesis, 1)
        failed = sum(
            kinesis.put_records(
                StreamName=name, Records=[{"Data": b"r", "PartitionKey": "k"} for _ in range(500)]
            )["FailedRecordCount"]
            for _ in range(4)
        )
        assert failed == 0
    finally:
        running.stop()
