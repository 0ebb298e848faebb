"""Delivery throughput: Kafka -> Parquet objects on one core, for ~200-byte JSON sensor records.

1. A stream (2 shards) is filled with ``--records`` JSON sensor readings of about 200 bytes
   (20 devices, one reading each per second) by librdkafka.
2. tidebox delivers it with ``run_sink`` (until caught up, in this process, pinned to one CPU),
   as two delivery streams: ``plain`` (Parquet under a Firehose time prefix) and ``by_hour``
   (dynamic partitioning by event time, ``dt=/hour=`` from jq keys, as the built-in ones do).
   Buffers are Firehose's Parquet default, 128 MB. The time is the whole run: consumer start,
   reading, conversion, Parquet encoding, writing the objects and the state.
3. Beside it, on the same stream and core: reading alone with librdkafka (the ceiling of any
   sink here) and with kafka-python (what the first tidebox sink used).
4. One more ``plain`` run with timers on each phase says where the time goes.

Figures are medians of ``--repeats`` runs; ratios are taken within this run.

    tidebox up && .venv/bin/python bench/sink_throughput.py [--records 2000000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import orjson  # noqa: E402

from tidebox.core.settings import SENSOR_COLUMNS, Settings, SinkSpec, StreamSpec, load_settings  # noqa: E402
from tidebox.delivery.buffers import Buffers  # noqa: E402
from tidebox.delivery.objects import ObjectBuilder  # noqa: E402
from tidebox.delivery.runner import run_sink  # noqa: E402
from tidebox.runtime import start_broker  # noqa: E402
from tidebox.streams.admin import recreate_stream  # noqa: E402

STREAM = "bench_sink_readings"
START_MS = 1_767_225_600_000


def fill(settings: Settings, records: int) -> float:
    """Write the records; their mean size in bytes."""
    from confluent_kafka import Producer

    recreate_stream(settings, STREAM)
    producer = Producer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "linger.ms": 50,
            "queue.buffering.max.messages": 2_000_000,
        }
    )
    total = 0
    for i in range(records):
        device = f"dev-{i % 20 + 1:03d}"
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(START_MS / 1000 + i // 20))
        value = orjson.dumps(
            {
                "device_id": device,
                "event_time": f"{stamp}.000Z",
                "temperature": round(20 + (i % 97) / 10, 2),
                "humidity": round(40 + (i % 53) / 10, 2),
                "vibration": round((i % 31) / 100, 3),
                "battery": round(90 - (i % 11) / 10, 2),
                "is_anomaly": False,
                "anomaly_type": None,
                "anomaly_sensor": None,
            }
        )
        total += len(value)
        producer.produce(STREAM, value, key=device.encode())
        if i % 20_000 == 0:
            producer.poll(0)
    producer.flush(120)
    return total / records


def specs() -> dict[str, SinkSpec]:
    return {
        "plain": SinkSpec(name="bench_plain", stream=STREAM, prefix="bench_plain/"),
        "by_hour": SinkSpec(
            name="bench_by_hour",
            stream=STREAM,
            prefix="bench_by_hour/dt=!{partitionKeyFromQuery:dt}/hour=!{partitionKeyFromQuery:hour}/",
            dynamic_partitioning={
                "partition_keys": {"dt": ".event_time[0:10]", "hour": ".event_time[11:13]"}
            },
        ),
    }


def deliver(settings: Settings, spec: SinkSpec, records: int) -> float:
    """Records per second of one whole delivery into a fresh bucket."""
    with tempfile.TemporaryDirectory() as bucket:
        run_settings = settings.model_copy(
            update={"bucket": Path(bucket), "state_dir": Path(bucket) / "state"}
        )
        started = time.perf_counter()
        result = run_sink(run_settings, spec)
        seconds = time.perf_counter() - started
    if result.records_out != records:
        raise SystemExit(f"{spec.name} delivered {result.records_out} of {records}")
    return records / seconds


def read_with_librdkafka(settings: Settings, records: int) -> float:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": "bench-read",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "fetch.max.bytes": 64 * 1024 * 1024,
            "max.partition.fetch.bytes": 32 * 1024 * 1024,
            "queued.max.messages.kbytes": 128 * 1024,
            "queued.min.messages": 500_000,
        }
    )
    started = time.perf_counter()
    consumer.assign([TopicPartition(STREAM, p, 0) for p in (0, 1)])
    seen = 0
    while seen < records:
        for message in consumer.consume(10_000, 1.0):
            if message.error() is None:
                message.value()
                seen += 1
    consumer.close()
    return records / (time.perf_counter() - started)


def read_with_kafka_python(settings: Settings, records: int) -> float:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        enable_auto_commit=False,
        isolation_level="read_committed",
        max_poll_records=10_000,
        fetch_max_bytes=64 * 1024 * 1024,
        max_partition_fetch_bytes=16 * 1024 * 1024,
    )
    started = time.perf_counter()
    partitions = [TopicPartition(STREAM, p) for p in (0, 1)]
    consumer.assign(partitions)
    for tp in partitions:
        consumer.seek(tp, 0)
    seen = 0
    while seen < records:
        seen += sum(len(batch) for batch in consumer.poll(timeout_ms=1000).values())
    consumer.close()
    return records / (time.perf_counter() - started)


def phases(settings: Settings, spec: SinkSpec, records: int) -> dict[str, float]:
    """Seconds spent in each phase of one delivery, by timers around the phase functions."""
    spent: dict[str, float] = defaultdict(float)

    def timed(owner: Any, name: str, label: str) -> Callable[[], None]:
        original = getattr(owner, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            begun = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[label] += time.perf_counter() - begun

        setattr(owner, name, wrapper)
        return lambda: setattr(owner, name, original)

    from tidebox.core.stores import LocalStore
    from tidebox.delivery.convert import Converter

    undo = [
        timed(Converter, "convert", "JSON -> Arrow (conversion)"),
        timed(ObjectBuilder, "encode", "Arrow -> Parquet (Snappy)"),
        timed(LocalStore, "put", "objects + state to disk (fsync, rename)"),
        timed(ObjectBuilder, "group", "partition keys and prefixes"),
        timed(Buffers, "add_many", "buffering (add_many per shard run)"),
    ]
    started = time.perf_counter()
    try:
        deliver(settings, spec, records)
    finally:
        for restore in undo:
            restore()
    total = time.perf_counter() - started
    accounted = sum(v for k, v in spent.items())
    spent["reading from Kafka, loop, start-up (the rest)"] = total - accounted
    spent["total"] = total
    return dict(spent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cpu", type=int, default=0, help="the one CPU the sink runs on")
    args = parser.parse_args()

    settings = load_settings()
    if settings.embedded:
        start_broker(settings)
    base = settings.stream("sensor_readings")
    stream = StreamSpec(name=STREAM, shards=2, time_field="event_time", key_field="device_id")
    stream = stream.model_copy(update={"columns": dict(SENSOR_COLUMNS)})
    settings = settings.model_copy(update={"streams": (*settings.streams, stream)})
    assert base is not None
    size = fill(settings, args.records)
    print(f"{args.records:,} records of {size:.0f} bytes in {STREAM} (2 shards)")
    os.sched_setaffinity(0, {args.cpu})
    print(f"pinned to CPU {args.cpu}; medians of {args.repeats}")

    results: dict[str, float] = {}
    for label, spec in specs().items():
        runs = [deliver(settings, spec, args.records) for _ in range(args.repeats)]
        results[f"tidebox sink, {label}"] = statistics.median(runs)
        print(f"  tidebox sink {label}: {', '.join(f'{r:,.0f}' for r in runs)} records/s")
    runs = [read_with_librdkafka(settings, args.records) for _ in range(args.repeats)]
    results["read only, librdkafka (confluent-kafka)"] = statistics.median(runs)
    light = min(args.records, 500_000)
    runs = [read_with_kafka_python(settings, light) for _ in range(args.repeats)]
    results[f"read only, kafka-python ({light:,} records)"] = statistics.median(runs)

    plain = results["tidebox sink, plain"]
    print("\n| run | records/s | vs tidebox plain |\n|---|---|---|")
    for label, rate in results.items():
        print(f"| {label} | {rate:,.0f} | {rate / plain:.2f} |")

    spent = phases(settings, specs()["plain"], args.records)
    total = spent.pop("total")
    print(f"\nwhere the time goes (plain, one run, {total:.2f} s):")
    for label, seconds in sorted(spent.items(), key=lambda kv: -kv[1]):
        print(f"  {label:<48} {seconds:6.2f} s  {seconds / total:5.1%}")


if __name__ == "__main__":
    main()
