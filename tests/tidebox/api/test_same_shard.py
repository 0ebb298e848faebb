"""A key lands on the same shard whether `tidebox replay`, boto3 or the AWS CLI sent it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support import unique
from tests.tidebox.cli.test_endpoint_cli import aws
from tidebox.api.server import ServerThread
from tidebox.core.settings import Settings
from tidebox.streams.reader import Position, read_stream
from tidebox.streams.replay import ReplayOptions, replay
from tidebox.streams.shards import KeyRouter

pytestmark = pytest.mark.integration

KEYS = [f"device-{n:02d}" for n in range(12)]


def test_replay_boto3_and_the_cli_agree_on_shards(
    api_settings: Settings, endpoint: ServerThread, kinesis: Any, tmp_path: Path
) -> None:
    name = unique("same")
    kinesis.create_stream(StreamName=name, ShardCount=4)
    readings = tmp_path / "readings.csv"
    rows = [f"{key},2026-11-30T10:00:{i:02d}Z,1.5" for i, key in enumerate(KEYS)]
    readings.write_text("device_id,event_time,temperature\n" + "\n".join(rows) + "\n")
    replay(api_settings, [readings], name, ReplayOptions(key_field="device_id"))
    for key in KEYS:
        kinesis.put_record(StreamName=name, Data=b'{"by": "boto3"}', PartitionKey=key)
        aws(
            endpoint.url,
            "kinesis",
            "put-record",
            "--stream-name",
            name,
            "--partition-key",
            key,
            "--data",
            '{"by": "cli"}',
        )

    shards: dict[str, set[int]] = {}
    for record in read_stream(api_settings, name, Position("trim-horizon")):
        shards.setdefault((record.key or b"").decode(), set()).add(record.shard)
    route = KeyRouter(4)
    assert shards == {key: {route(key.encode())} for key in KEYS}
    assert len({route(key.encode()) for key in KEYS}) > 1  # the keys spread over shards
