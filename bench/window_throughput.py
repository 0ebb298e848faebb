"""Windowed-job throughput: Kafka -> 1-minute tumbling window per device -> Kafka, side by side
with the same query on Flink's datagen source and with Quix Streams, in one run.

1. A stream of JSON sensor records (20 devices, 2 shards) is filled by a Flink job that writes
   datagen rows to Kafka (``--events`` records).
2. tidebox runs the shipped job ``jobs/device_stats_1m.sql`` (17 statistics per device and
   minute) bounded over that stream, exactly-once into a Kafka stream, at parallelism 1 and 2.
   The time is the whole run: planning, job start on the mini-cluster, reading every record,
   the final checkpoint that commits the output.
3. The same query reads Flink's datagen source instead (no Kafka, no JSON) and writes to a
   blackhole sink: the ceiling of this machine.
4. Quix Streams (PyPI) consumes the same stream with a 1-minute tumbling window per device and
   the same 17 aggregations, producing to a Kafka topic; timed from ``app.run()`` until it has
   consumed ``--quix-events`` records (a prefix of the stream, to bound its run time).

Each figure is the median of ``--repeats`` runs, and the ratios are taken within this run.

    tidebox up && .venv/bin/python bench/window_throughput.py [--events 3000000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tidebox.core.settings import SENSORS, load_settings  # noqa: E402
from tidebox.flink.ddl import columns_ddl  # noqa: E402
from tidebox.flink.environment import make_table_env  # noqa: E402
from tidebox.flink.runner import run_job  # noqa: E402
from tidebox.runtime import start_broker  # noqa: E402
from tidebox.streams.admin import recreate_stream, shard_offsets  # noqa: E402
from tidebox.templates import DEMO_JOB  # noqa: E402

SOURCE, SINK = "bench_readings", "bench_stats_1m"
JOB = DEMO_JOB
START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def datagen_table(name: str, events: int) -> str:
    """A datagen table shaped like the sensor stream: 20 devices, one reading each per second."""
    return f"""CREATE TEMPORARY TABLE {name} (
  seq BIGINT,
  temperature DOUBLE, humidity DOUBLE, vibration DOUBLE, battery DOUBLE,
  device_id AS CONCAT('dev-', LPAD(CAST(MOD(seq, 20) + 1 AS STRING), 3, '0')),
  event_time AS TO_TIMESTAMP_LTZ({START_MS} + (seq / 20) * 1000, 3),
  WATERMARK FOR event_time AS event_time - INTERVAL '5' SECOND
) WITH (
  'connector' = 'datagen', 'number-of-rows' = '{events}', 'rows-per-second' = '1000000000',
  'fields.seq.kind' = 'sequence', 'fields.seq.start' = '0', 'fields.seq.end' = '{events - 1}',
  'fields.temperature.min' = '10', 'fields.temperature.max' = '30',
  'fields.humidity.min' = '30', 'fields.humidity.max' = '70',
  'fields.vibration.min' = '0', 'fields.vibration.max' = '3',
  'fields.battery.min' = '20', 'fields.battery.max' = '100'
)"""


def fill_stream(settings, events: int) -> float:  # type: ignore[no-untyped-def]
    """Write ``events`` JSON sensor records into the source stream with Flink; return seconds."""
    recreate_stream(settings, SOURCE)
    env, _ = make_table_env(settings, "bench_fill", 1)  # one writer: each shard in time order
    env.execute_sql(datagen_table("gen", events))
    env.execute_sql(
        f"""CREATE TEMPORARY TABLE fill_out (
  device_id STRING, event_time TIMESTAMP_LTZ(3),
  temperature DOUBLE, humidity DOUBLE, vibration DOUBLE, battery DOUBLE
) WITH ('connector' = 'kafka', 'topic' = '{SOURCE}',
  'properties.bootstrap.servers' = '{settings.kafka_bootstrap}',
  'format' = 'json', 'json.timestamp-format.standard' = 'ISO-8601',
  'key.format' = 'raw', 'key.fields' = 'device_id', 'value.fields-include' = 'ALL',
  'sink.delivery-guarantee' = 'at-least-once',
  'properties.linger.ms' = '20', 'properties.batch.size' = '262144')"""
    )
    started = time.monotonic()
    env.execute_sql(
        "INSERT INTO fill_out SELECT device_id, event_time, "
        "temperature, humidity, vibration, battery FROM gen"
    ).wait()
    return time.monotonic() - started


def tidebox_run(settings, job: Path, parallelism: int, events: int) -> float:  # type: ignore[no-untyped-def]
    recreate_stream(settings, SINK)
    result = run_job(
        settings, job, bounded=True, parallelism=parallelism, restore="none", name="bench_window"
    )
    windows = result.records_out[SINK]
    if result.late_records:
        raise RuntimeError(f"{result.late_records} records were late: the stream is out of order")
    expected = events // 20 // 60 * 20  # whole minutes per device
    if not expected <= windows <= expected + 20:
        raise RuntimeError(f"expected about {expected} windows, the job wrote {windows}")
    return events / result.seconds


def datagen_run(settings, parallelism: int, events: int) -> float:  # type: ignore[no-untyped-def]
    query = JOB.read_text().split("INSERT INTO device_stats_1m", 1)[1]
    env, _ = make_table_env(settings, "bench_datagen", parallelism)
    env.get_config().set("table.local-time-zone", "UTC")
    env.execute_sql(datagen_table("sensor_readings", events))
    columns = columns_ddl(settings.stream("device_stats_1m").columns)
    blackhole = "WITH ('connector' = 'blackhole')"
    env.execute_sql(f"CREATE TEMPORARY TABLE bench_sink (\n{columns}\n) {blackhole}")
    started = time.monotonic()
    env.execute_sql(f"INSERT INTO bench_sink {query}").wait()
    return events / (time.monotonic() - started)


def quix_run(settings, events: int) -> float:  # type: ignore[no-untyped-def]
    """Quix Streams in its own process (it brings librdkafka and RocksDB); events/s."""
    script = REPO / "bench" / "quix_window.py"
    output = subprocess.run(
        [sys.executable, str(script), settings.kafka_bootstrap, SOURCE, str(events)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    ).stdout
    return float(json.loads(output.strip().splitlines()[-1])["events_per_second"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=3_000_000)
    parser.add_argument("--quix-events", type=int, default=300_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    base = load_settings()
    specs = []
    for spec in base.streams:
        if spec.name == "sensor_readings":
            specs.append(spec.model_copy(update={"name": SOURCE}))
        if spec.name == "device_stats_1m":
            specs.append(spec.model_copy(update={"name": SINK}))
    settings = base.model_copy(update={"streams": (*base.streams, *specs)})
    start_broker(settings)
    job = settings.state_dir / "bench" / "bench_window.sql"
    job.parent.mkdir(parents=True, exist_ok=True)
    job.write_text(
        JOB.read_text().replace("sensor_readings", SOURCE).replace("device_stats_1m", SINK)
    )

    fill_s = fill_stream(settings, args.events)
    # written without transactions: the offsets are the record count
    stored = sum(hi - lo for lo, hi in shard_offsets(settings, SOURCE).values())
    print(f"filled {SOURCE}: {stored:,} records in {fill_s:.1f} s ({stored / fill_s:,.0f}/s)")

    rows: list[tuple[str, list[float]]] = []
    for parallelism in (1, 2):
        rates = [tidebox_run(settings, job, parallelism, stored) for _ in range(args.repeats)]
        rows.append((f"tidebox Kafka -> window -> Kafka, p={parallelism}", rates))
    for parallelism in (1, 2):
        rates = [datagen_run(settings, parallelism, stored) for _ in range(args.repeats)]
        rows.append((f"same query on datagen -> blackhole, p={parallelism}", rates))
    quix = [quix_run(settings, min(args.quix_events, stored)) for _ in range(args.repeats)]
    rows.append(("Quix Streams Kafka -> window -> Kafka", quix))

    print(f"\n{'run':48} {'median events/s':>16}   runs")
    for label, rates in rows:
        runs = ", ".join(f"{r:,.0f}" for r in rates)
        print(f"{label:48} {statistics.median(rates):>16,.0f}   {runs}")
    p2 = statistics.median(rows[1][1])
    print(f"\ntidebox p=2 / Quix Streams: {p2 / statistics.median(quix):.1f}x")
    print(f"tidebox p=2 / datagen p=2 ceiling: {p2 / statistics.median(rows[3][1]):.2f}")
    sensors = ", ".join(SENSORS)
    print(f"({stored:,} events, 20 devices; count, avg, min, max of {sensors}; exactly-once)")


if __name__ == "__main__":
    main()
