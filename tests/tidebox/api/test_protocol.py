"""Malformed calls, sent as raw HTTP: each gets AWS's error shape and status, never a 500."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from tidebox.api.server import ServerThread

pytestmark = pytest.mark.integration


def post(url: str, target: str | None, body: bytes) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/x-amz-json-1.1"}
    if target is not None:
        headers["X-Amz-Target"] = target
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        assert error.headers["Content-Type"] == "application/x-amz-json-1.1"
        return error.code, json.loads(error.read())


@pytest.mark.parametrize(
    ("target", "body", "expected"),
    [
        ("Kinesis_20131202.ListStreams", b"{not json", "SerializationException"),
        ("Kinesis_20131202.ListStreams", b"[1, 2]", "SerializationException"),
        ("Kinesis_20131202.FlyToTheMoon", b"{}", "UnknownOperationException"),
        ("Nonsense_2020.ListStreams", b"{}", "UnknownOperationException"),
        (None, b"{}", "UnknownOperationException"),
        (
            "Kinesis_20131202.CreateStream",
            b'{"StreamName": "x", "ShardCount": 0}',
            "ValidationException",
        ),
        ("Kinesis_20131202.CreateStream", b'{"ShardCount": 1}', "ValidationException"),
        ("Kinesis_20131202.DescribeStream", b"{}", "InvalidArgumentException"),
        ("Kinesis_20131202.DescribeStream", b'{"StreamName": 7}', "SerializationException"),
        (
            "Kinesis_20131202.GetRecords",
            b'{"ShardIterator": "forged.token"}',
            "InvalidArgumentException",
        ),
        (
            "Kinesis_20131202.PutRecord",
            b'{"StreamName": "x", "PartitionKey": "k", "Data": "not base64!"}',
            "SerializationException",
        ),
    ],
)
def test_malformed_calls(
    endpoint: ServerThread, target: str | None, body: bytes, expected: str
) -> None:
    status, answer = post(endpoint.url, target, body)
    assert (status, answer["__type"]) == (400, expected)
    assert answer["message"]


def test_health(endpoint: ServerThread) -> None:
    with urllib.request.urlopen(endpoint.url, timeout=10) as response:
        assert json.loads(response.read())["service"] == "tidebox"
