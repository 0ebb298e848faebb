"""The AWS endpoint as a user meets it: started by `tidebox up`, reached by the real AWS CLI,
read back with `tidebox stream read`, its shard use shown by `tidebox stream describe`."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support import cli_env, free_port, run_cli, unique
from tidebox.core.settings import Settings

pytestmark = pytest.mark.integration

AWS = str(Path(sys.executable).parent / "aws")


def aws(url: str, *args: str) -> Any:
    """Run the real AWS CLI against ``url`` and return its JSON answer (None when empty)."""
    env = cli_env(
        AWS_ACCESS_KEY_ID="tidebox",
        AWS_SECRET_ACCESS_KEY="tidebox",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_MAX_ATTEMPTS="1",
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
    )
    done = subprocess.run(
        [AWS, "--endpoint-url", url, "--output", "json", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise AssertionError(f"aws {' '.join(args)} failed: {done.stderr}")
    return json.loads(done.stdout) if done.stdout.strip() else None


def test_up_starts_the_endpoint_the_aws_cli_reaches(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        "TIDEBOX_BOOTSTRAP_SERVERS": kafka_settings.kafka_bootstrap,
        "TIDEBOX_API_PORT": str(port),
    }
    url = f"http://127.0.0.1:{port}"
    up = run_cli(["up"], tmp_path, env)
    try:
        assert up.returncode == 0, up.stderr
        assert f"AWS endpoint (Kinesis, Firehose) at {url}" in up.stdout
        status = run_cli(["status"], tmp_path, env)
        assert f"AWS endpoint at {url}: running" in status.stdout

        name = unique("cli")
        aws(url, "kinesis", "create-stream", "--stream-name", name, "--shard-count", "2")
        described = aws(url, "kinesis", "describe-stream", "--stream-name", name)
        assert len(described["StreamDescription"]["Shards"]) == 2
        assert name in aws(url, "kinesis", "list-streams")["StreamNames"]
        shards = aws(url, "kinesis", "list-shards", "--stream-name", name)["Shards"]
        assert [s["ShardId"] for s in shards] == ["shardId-000000000000", "shardId-000000000001"]
        summary = aws(url, "kinesis", "describe-stream-summary", "--stream-name", name)
        assert summary["StreamDescriptionSummary"]["OpenShardCount"] == 2
        aws(
            url,
            "kinesis",
            "increase-stream-retention-period",
            "--stream-name",
            name,
            "--retention-period-hours",
            "48",
        )
        aws(
            url,
            "kinesis",
            "decrease-stream-retention-period",
            "--stream-name",
            name,
            "--retention-period-hours",
            "36",
        )
        summary = aws(url, "kinesis", "describe-stream-summary", "--stream-name", name)
        assert summary["StreamDescriptionSummary"]["RetentionPeriodHours"] == 36
        aws(
            url,
            "kinesis",
            "add-tags-to-stream",
            "--stream-name",
            name,
            "--tags",
            "team=iot,env=dev",
        )
        aws(url, "kinesis", "remove-tags-from-stream", "--stream-name", name, "--tag-keys", "env")
        tags = aws(url, "kinesis", "list-tags-for-stream", "--stream-name", name)["Tags"]
        assert tags == [{"Key": "team", "Value": "iot"}]
        put = aws(
            url,
            "kinesis",
            "put-record",
            "--stream-name",
            name,
            "--partition-key",
            "device-1",
            "--data",
            '{"temp": 21.5}',
        )
        batch = aws(
            url,
            "kinesis",
            "put-records",
            "--stream-name",
            name,
            "--records",
            json.dumps([{"Data": f'{{"n": {i}}}', "PartitionKey": f"k{i}"} for i in range(5)]),
        )
        assert batch["FailedRecordCount"] == 0
        iterator = aws(
            url,
            "kinesis",
            "get-shard-iterator",
            "--stream-name",
            name,
            "--shard-id",
            put["ShardId"],
            "--shard-iterator-type",
            "AT_SEQUENCE_NUMBER",
            "--starting-sequence-number",
            put["SequenceNumber"],
        )["ShardIterator"]
        got = aws(url, "kinesis", "get-records", "--shard-iterator", iterator)
        first = got["Records"][0]
        assert base64.b64decode(first["Data"]) == b'{"temp": 21.5}'
        assert first["PartitionKey"] == "device-1" and "NextShardIterator" in got

        read = run_cli(["stream", "read", name, "--limit", "10"], tmp_path, env)
        lines = [json.loads(line) for line in read.stdout.splitlines()]
        assert len(lines) == 6 and read.returncode == 0
        mine = [line for line in lines if line["key"] == "device-1"]
        assert mine[0]["data"] == {"temp": 21.5}
        assert mine[0]["shard"] == put["ShardId"]
        assert mine[0]["sequence"] == put["SequenceNumber"]
        shard = put["ShardId"]
        after = run_cli(
            [
                "stream",
                "read",
                name,
                "--shard",
                shard,
                "--from",
                "at-sequence",
                put["SequenceNumber"],
                "--limit",
                "1",
            ],
            tmp_path,
            env,
        )
        assert json.loads(after.stdout)["data"] == {"temp": 21.5}

        described = run_cli(["stream", "describe", name], tmp_path, env)
        assert "in rec/s (of 1,000)" in described.stdout and "busiest second" in described.stdout

        aws(url, "kinesis", "delete-stream", "--stream-name", name)
        gone = subprocess.run(
            [AWS, "--endpoint-url", url, "kinesis", "describe-stream", "--stream-name", name],
            env=cli_env(
                AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x", AWS_DEFAULT_REGION="us-east-1"
            ),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert gone.returncode != 0 and "ResourceNotFoundException" in gone.stderr
    finally:
        down = run_cli(["down"], tmp_path, env)
    assert "AWS endpoint stopped" in down.stdout


def test_stream_read_bad_positions_get_one_line(kafka_settings: Settings, tmp_path: Path) -> None:
    env = {"TIDEBOX_BOOTSTRAP_SERVERS": kafka_settings.kafka_bootstrap}
    for args, problem in [
        (["--from", "sideways"], "unknown position 'sideways'"),
        (["--from", "at-sequence"], "needs a sequence number"),
        (["--from", "at-timestamp", "yesterday"], "is not a time"),
        (["--from", "latest", "12"], "takes no value"),
    ]:
        done = run_cli(["stream", "read", "sensor_readings", *args], tmp_path, env)
        assert done.returncode == 1 and problem in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    missing = run_cli(["stream", "read", unique("absent")], tmp_path, env)
    assert missing.returncode == 1 and "unknown stream" in missing.stderr


def test_stream_read_follow_tails_until_interrupted(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    import signal
    import threading

    from tests.support import TIDEBOX, produce, wait_for
    from tidebox.streams.admin import create_stream

    name = unique("follow")
    create_stream(kafka_settings, name, shards=2)
    produce(kafka_settings, name, [b'{"n": 1}'], [b"a"])
    reader = subprocess.Popen(
        [TIDEBOX, "stream", "read", name, "--follow"],
        cwd=tmp_path,
        env=cli_env(kafka_settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[dict[str, Any]] = []

    def collect() -> None:  # on a thread: a blocked read never hangs the test
        assert reader.stdout is not None
        for line in reader.stdout:
            lines.append(json.loads(line))

    threading.Thread(target=collect, daemon=True).start()

    def printed(count: int) -> bool:
        return len(lines) >= count

    try:
        wait_for(lambda: printed(1), 60, "the record already there")
        produce(kafka_settings, name, [b'{"n": 2}', b'{"n": 3}'], [b"b", b"c"])
        wait_for(lambda: printed(3), 60, "the records sent while following")
    finally:
        reader.send_signal(signal.SIGINT)
        reader.wait(60)
    assert reader.stderr is not None
    errors = reader.stderr.read()
    assert sorted(line["data"]["n"] for line in lines) == [1, 2, 3]
    assert reader.returncode in (0, 130) and "Traceback" not in errors


def test_api_runs_in_the_foreground_and_refuses_a_taken_port(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    import signal
    import socket

    from tests.support import TIDEBOX, wait_for
    from tidebox.runtime.api_process import answers

    port = free_port()
    server = subprocess.Popen(
        [TIDEBOX, "api", "--port", str(port)],
        cwd=tmp_path,
        env=cli_env(kafka_settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: answers(f"http://127.0.0.1:{port}"), 60, "the endpoint to answer")
        taken = run_cli(["api", "--port", str(port)], tmp_path, {})
        assert taken.returncode == 1 and f"port {port} on 127.0.0.1 is taken" in taken.stderr
        assert len(taken.stderr.strip().splitlines()) == 1
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(60)
    assert server.returncode in (0, 130)  # 130: ended by Ctrl-C, as shells count it
    assert server.stderr is not None and "Traceback" not in server.stderr.read()
    with socket.socket() as probe:  # released (reusable as a server reuses it)
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))
