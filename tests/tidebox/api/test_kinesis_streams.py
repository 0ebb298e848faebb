"""The Kinesis control plane through real boto3: streams, shards, retention and tags."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import unique
from tests.tidebox.api.conftest import error_of
from tidebox.streams.shards import hash_key_ranges

pytestmark = pytest.mark.integration


def test_create_describe_list_and_delete(kinesis: Any) -> None:
    name = unique("kds")
    kinesis.create_stream(StreamName=name, ShardCount=3, Tags={"team": "iot"})
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 1})
    description = kinesis.describe_stream(StreamName=name)["StreamDescription"]
    assert description["StreamStatus"] == "ACTIVE"
    assert description["StreamARN"] == f"arn:aws:kinesis:eu-west-1:000000000000:stream/{name}"
    assert description["RetentionPeriodHours"] == 24
    assert description["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}
    ranges = [
        (int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"]))
        for s in description["Shards"]
    ]
    assert ranges == [(r.start, r.end) for r in hash_key_ranges(3)]
    assert [s["ShardId"] for s in description["Shards"]] == [
        "shardId-000000000000",
        "shardId-000000000001",
        "shardId-000000000002",
    ]
    summary = kinesis.describe_stream_summary(StreamARN=description["StreamARN"])
    assert summary["StreamDescriptionSummary"]["OpenShardCount"] == 3

    page = kinesis.list_shards(StreamName=name, MaxResults=2)
    rest = kinesis.list_shards(NextToken=page["NextToken"])
    assert [s["ShardId"] for s in page["Shards"] + rest["Shards"]] == [
        s["ShardId"] for s in description["Shards"]
    ]
    assert name in kinesis.list_streams(Limit=10_000)["StreamNames"]
    listed = [s for p in kinesis.get_paginator("list_streams").paginate() for s in p["StreamNames"]]
    assert name in listed

    assert kinesis.list_tags_for_stream(StreamName=name)["Tags"] == [
        {"Key": "team", "Value": "iot"}
    ]
    kinesis.add_tags_to_stream(StreamName=name, Tags={"env": "dev"})
    kinesis.remove_tags_from_stream(StreamName=name, TagKeys=["team"])
    arn = description["StreamARN"]
    assert kinesis.list_tags_for_resource(ResourceARN=arn)["Tags"] == [
        {"Key": "env", "Value": "dev"}
    ]

    kinesis.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=48)
    assert (
        kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"][
            "RetentionPeriodHours"
        ]
        == 48
    )
    code, status, _ = error_of(
        kinesis.decrease_stream_retention_period, StreamName=name, RetentionPeriodHours=72
    )
    assert (code, status) == ("InvalidArgumentException", 400)
    kinesis.decrease_stream_retention_period(StreamName=name, RetentionPeriodHours=24)

    assert error_of(kinesis.create_stream, StreamName=name, ShardCount=1)[0] == (
        "ResourceInUseException"
    )
    kinesis.delete_stream(StreamName=name)
    code, status, message = error_of(kinesis.describe_stream, StreamName=name)
    assert (code, status) == ("ResourceNotFoundException", 400)
    assert message == f"Stream {name} under account 000000000000 not found."


def test_on_demand_streams_start_with_four_shards(kinesis: Any) -> None:
    name = unique("kds")
    kinesis.create_stream(StreamName=name, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert summary["OpenShardCount"] == 4
    assert summary["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}


def test_bad_requests_get_aws_errors(kinesis: Any) -> None:
    assert error_of(kinesis.describe_stream, StreamName="no such stream!")[0] == (
        "ValidationException"
    )
    assert error_of(kinesis.list_shards, StreamName=unique("absent"))[0] == (
        "ResourceNotFoundException"
    )
