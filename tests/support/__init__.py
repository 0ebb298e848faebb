"""Helpers shared by the tests: the repository's paths, a real broker's settings in isolation,
the ``tidebox`` command as a user runs it, data landed or generated for a test, streams read
back to their end, and waiting on a condition instead of a fixed time."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tidebox.core.settings import Settings, SinkSpec, StreamSpec, load_settings

REPO = Path(__file__).resolve().parents[2]
JOBS = REPO / "jobs"


TEST_STATE = REPO / ".tidebox" / "test"


TIDEBOX = str(Path(sys.executable).parent / "tidebox")  # the installed console script


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    """Poll ``condition`` until it holds; fail the test naming ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out after {seconds:g} s waiting for {what}")


def free_port() -> int:
    """A port on 127.0.0.1 that is free now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def free_port_pair() -> int:
    """A port p on 127.0.0.1 such that p and p + 1 are both free (broker and controller)."""
    for _ in range(50):
        port = free_port()
        if port >= 65535:
            continue
        with socket.socket() as second:
            try:
                second.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return int(port)
    raise RuntimeError("no free port pair found")


def repo_settings(**changes: Any) -> Settings:
    """The settings of this repository's own sandbox project (its tidebox.yaml: the ``devices``
    reference table, the examples under sinks/), with no TIDEBOX_* variable applied."""
    settings = load_settings(config_path=REPO / "tidebox.yaml", environ={})
    return settings.model_copy(update=changes) if changes else settings


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def with_stream(settings: Settings, spec: StreamSpec, **changes: object) -> Settings:
    """The same settings with one more declared stream (and any other field changed)."""
    return settings.model_copy(update={"streams": (*settings.streams, spec), **changes})


def readings_spec(settings: Settings, prefix: str, shards: int | None = None) -> StreamSpec:
    """The sensor_readings stream's spec under a unique name starting with ``prefix`` (with
    ``shards`` shards, or as many as sensor_readings)."""
    base = settings.stream("sensor_readings")
    assert base is not None
    changes: dict[str, object] = {"name": unique(prefix)}
    if shards is not None:
        changes["shards"] = shards
    return base.model_copy(update=changes)


def write_config(
    folder: Path,
    streams: Sequence[StreamSpec] = (),
    sinks: Sequence[SinkSpec | dict[str, Any]] = (),
    jobs: Sequence[dict[str, Any]] = (),
) -> Path:
    """A ``folder``/tidebox.yaml declaring these streams, delivery streams and jobs, for the
    CLI run in ``folder``; its path."""
    import json

    import yaml

    def plain(item: StreamSpec | SinkSpec | dict[str, Any]) -> Any:
        return item if isinstance(item, dict) else json.loads(item.model_dump_json())

    config = {
        key: [plain(item) for item in items]
        for key, items in (("streams", streams), ("sinks", sinks), ("jobs", jobs))
        if items
    }
    path = folder / "tidebox.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))  # columns keep their order
    return path


def read_stream(settings: Settings, stream: str, timeout_s: float = 60) -> list[Any]:
    """Every committed record of the stream (kafka-python ConsumerRecords, partition by
    partition), read up to the end offsets it has now: no record written later, none left
    out. Fails the test if ``timeout_s`` pass without the reader getting any further."""
    from kafka import TopicPartition

    from tidebox.core.clients import make_consumer

    consumer = make_consumer(settings, isolation_level="read_committed")
    try:
        shards = consumer.partitions_for_topic(stream)
        assert shards, f"no stream {stream!r}"
        partitions = [TopicPartition(stream, p) for p in sorted(shards)]
        consumer.assign(partitions)
        consumer.seek_to_beginning()
        end = consumer.end_offsets(partitions)  # the last stable offsets, under read_committed
        records: list[Any] = []
        deadline = time.monotonic() + timeout_s
        while any(consumer.position(tp) < end[tp] for tp in partitions):
            batches = consumer.poll(timeout_ms=500)
            for messages in batches.values():
                records.extend(messages)
            if batches:
                deadline = time.monotonic() + timeout_s
            else:
                positions = {tp.partition: consumer.position(tp) for tp in partitions}
                assert time.monotonic() < deadline, (
                    f"reading {stream!r} stalled at {positions} before {end}"
                )
    finally:
        consumer.close()
    return sorted(records, key=lambda r: (r.partition, r.offset))


def committed_count(settings: Settings, stream: str) -> int:
    """Committed records in a stream; 0 while the job that writes it has not created it."""
    from tidebox.core.errors import StreamNotFoundError
    from tidebox.streams.admin import count_records

    try:
        return count_records(settings, stream)
    except StreamNotFoundError:
        return 0


def cli_env(settings: Settings | None = None, **extra: str) -> dict[str, str]:
    """The environment for running the ``tidebox`` command as a user would, against ``settings``.

    The caller's own TIDEBOX_* variables are left out, so that only these settings apply.
    """
    # PyFlink marks a process that ran a Python UDF in loopback mode with
    # PYFLINK_GATEWAY_DISABLED; a child must not inherit that
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TIDEBOX_", "PYFLINK_"))}
    env["COLUMNS"] = "200"  # keep rich from wrapping lines the tests read
    if settings is not None:
        env["TIDEBOX_STATE_DIR"] = str(settings.state_dir)
        env["TIDEBOX_KAFKA_PORT"] = str(settings.kafka_port)
        env["TIDEBOX_BUCKET"] = str(settings.bucket_path)
        env["TIDEBOX_API_PORT"] = str(settings.api_port)
    return {**env, **extra}


def run_cli(
    args: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the ``tidebox`` command with ``args`` and extra environment, capturing its output."""
    return subprocess.run(
        [TIDEBOX, *args],
        cwd=cwd,
        env=cli_env(**(env or {})),
        capture_output=True,
        text=True,
        timeout=300,
    )


def land(
    bucket: Path,
    stream: StreamSpec,
    records: list[bytes],
    partitions: list[int] | None = None,
    arrival_ms: int = 0,
    settings: Settings | None = None,
) -> Any:
    """Deliver ``records`` (offsets 0, 1, ...) as the stream's default delivery stream would,
    without Kafka: for tests of what reads landed data."""
    from tidebox.core.settings import default_sink
    from tidebox.core.stores import LocalStore
    from tidebox.delivery.delivery import DeliveryStream

    delivery = DeliveryStream(default_sink(stream), dict(stream.columns), LocalStore(bucket))
    delivery.recover()
    for offset, value in enumerate(records):
        partition = partitions[offset] if partitions else 0
        delivery.add(value, partition, offset, arrival_ms)
    delivery.flush()
    from tidebox.delivery.runner import register_table

    register_table(settings or settings_for(bucket), delivery)
    return delivery


def settings_for(bucket: Path) -> Settings:
    """Settings whose bucket is ``bucket`` and whose state (the catalog) sits beside it."""
    return Settings(bucket=bucket, state_dir=bucket.parent / "state")


S3_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def make_bucket(endpoint: str, name: str | None = None) -> str:
    """A new empty bucket on the S3 server; its name."""
    import boto3

    bucket = name or unique("bucket").replace("_", "-")
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    return bucket


def produce(
    settings: Settings,
    stream: str,
    values: list[bytes],
    keys: list[bytes] | None = None,
    timestamps: list[int] | None = None,
) -> None:
    """Write ``values`` to an existing stream quickly (librdkafka), every one acknowledged;
    ``timestamps`` (epoch milliseconds) set the records' Kafka timestamps."""
    from confluent_kafka import Producer

    producer = Producer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "linger.ms": 20,
            "enable.idempotence": True,
            "queue.buffering.max.messages": 1_000_000,
        }
    )
    failures: list[str] = []

    def report(error: Any, message: Any) -> None:
        if error is not None:
            failures.append(str(error))

    for i, value in enumerate(values):
        extra = {"timestamp": timestamps[i]} if timestamps else {}
        producer.produce(stream, value, key=keys[i] if keys else None, on_delivery=report, **extra)
        if i % 10_000 == 0:
            producer.poll(0)
    producer.flush(60)
    assert not failures, failures[:3]


def land_readings_stream(settings: Settings, folder: Path, devices: int = 3) -> str:
    """A new stream shaped like sensor_readings, declared in ``folder``/tidebox.yaml for the CLI,
    holding ``devices`` x 1 h of readings every 30 s; its name."""
    from tidebox.streams.admin import create_stream
    from tidebox.streams.generate import GenerateSpec, write_dataset
    from tidebox.streams.replay import replay

    spec = readings_spec(settings, "readings", shards=2)
    write_config(folder, streams=[spec])
    with_it = with_stream(settings, spec)
    create_stream(with_it, spec.name)
    data = write_dataset(
        GenerateSpec(devices=devices, hours=1, interval_seconds=30), folder / "readings.csv"
    )
    replay(with_it, [data.path], spec.name)
    return spec.name


def month_of_readings(root: Path, days: int = 30, rows: int = 200) -> list[Path]:
    """Hourly-partitioned sensor readings, ``root/dt=2026-01-DD/hour=HH/readings.parquet``,
    for ``days`` days: one file per hour, ``rows`` readings each."""
    from datetime import UTC, datetime, timedelta

    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(7)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    paths = []
    for hour in range(days * 24):
        stamp = start + timedelta(hours=hour)
        times = [stamp + timedelta(seconds=18 * i) for i in range(rows)]
        table = pa.table(
            {
                "device_id": [f"dev-{i % 20:03d}" for i in range(rows)],
                "event_time": pa.array(times, type=pa.timestamp("ms", tz="UTC")),
                "temperature": rng.normal(20, 3, rows),
                "humidity": rng.normal(50, 5, rows),
            }
        )
        path = root / f"dt={stamp:%Y-%m-%d}" / f"hour={stamp:%H}" / "readings.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path)
        paths.append(path)
    return paths
