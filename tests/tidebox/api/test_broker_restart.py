"""The endpoint outlives a broker restart: calls while the broker is down get AWS's 503, and
every record acknowledged before, during or after is there once the broker is back."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support import TEST_STATE, free_port, free_port_pair
from tests.tidebox.api.conftest import client
from tests.tidebox.api.test_kinesis_records import read_all
from tidebox.api.server import start_in_thread
from tidebox.core.settings import Settings
from tidebox.runtime import start_broker, stop_broker
from tidebox.streams.shards import shard_id

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_a_broker_restart_is_survived(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "jars").symlink_to(TEST_STATE / "jars")  # the session's cached broker jars
    settings = Settings(state_dir=state, kafka_port=free_port_pair(), api_port=free_port())
    start_broker(settings)
    running = start_in_thread(settings)
    try:
        kinesis = client("kinesis", running.url)
        kinesis.create_stream(StreamName="restart", ShardCount=2)
        sent = [
            kinesis.put_record(
                StreamName="restart", Data=f"before-{i}".encode(), PartitionKey=str(i)
            )
            for i in range(10)
        ]
        stop_broker(settings)
        with pytest.raises(ClientError) as caught:
            kinesis.put_record(StreamName="restart", Data=b"while-down", PartitionKey="x")
        error: Any = caught.value.response
        assert error["Error"]["Code"] == "ServiceUnavailableException"
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 503
        start_broker(settings)
        patient = client("kinesis", running.url, attempts=10)
        sent += [
            patient.put_record(
                StreamName="restart", Data=f"after-{i}".encode(), PartitionKey=str(i)
            )
            for i in range(10)
        ]
        landed = [
            r
            for n in range(2)
            for r in read_all(patient, "restart", shard_id(n), ShardIteratorType="TRIM_HORIZON")
        ]
        expected = {f"before-{i}".encode() for i in range(10)} | {
            f"after-{i}".encode() for i in range(10)
        }
        found = [r["Data"] for r in landed if r["Data"] != b"while-down"]
        assert sorted(found) == sorted(expected)  # each acknowledged record, exactly once
        assert len(sent) == 20
    finally:
        running.stop()
        stop_broker(settings)
        shutil.rmtree(state / "kafka", ignore_errors=True)
