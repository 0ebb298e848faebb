"""End-to-end events/s of the per-device random cut forest job (jobs/device_anomaly_scores.py).

Replays a generated fleet (``--devices`` sensors, one reading every ``--interval`` seconds) into
a 2-shard stream, then runs the job bounded over it, Kafka to Kafka, exactly-once, with one
forest per device at Kinesis Analytics' defaults (100 trees, 256 points; four columns), at
parallelism 1 and 2, with and without explanations. The time is the whole run: planning, job
start (the JVM is warm, the Python workers are not), scoring every reading, the final commit.
Each figure is the median of ``--repeats`` runs.

    tidebox up && .venv/bin/python bench/rcf_job_throughput.py [--hours 24] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tidebox.core.settings import load_settings  # noqa: E402
from tidebox.flink.runner import run_job  # noqa: E402
from tidebox.runtime import start_broker  # noqa: E402
from tidebox.streams.admin import list_streams, recreate_stream  # noqa: E402
from tidebox.streams.generate import GenerateSpec, write_dataset  # noqa: E402
from tidebox.streams.replay import replay  # noqa: E402

SOURCE, OUTPUT = "bench_rcf_readings", "bench_rcf_scores"
JOB = REPO / "jobs" / "device_anomaly_scores.py"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, default=20)
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    base = load_settings()
    readings = base.stream("sensor_readings")
    assert readings is not None  # a built-in stream
    spec = readings.model_copy(update={"name": SOURCE})
    settings = base.model_copy(update={"streams": (*base.streams, spec)})
    start_broker(settings)
    folder = settings.state_dir / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    job = folder / "bench_rcf.py"
    text = JOB.read_text().replace('"sensor_readings"', f'"{SOURCE}"')
    job.write_text(text.replace('"device_anomaly_scores"', f'"{OUTPUT}"'))
    data = write_dataset(
        GenerateSpec(devices=args.devices, hours=args.hours, interval_seconds=args.interval),
        folder / "rcf_readings.csv",
    )
    recreate_stream(settings, SOURCE)
    events = replay(settings, [data.path], SOURCE).events
    print(f"{events:,} readings of {args.devices} devices in {SOURCE}")

    print(f"\n{'run':44} {'median events/s':>16}   runs")
    for explain in ("false", "true"):
        for parallelism in (1, 2):
            rates = []
            for _ in range(args.repeats):
                if OUTPUT in list_streams(settings):
                    recreate_stream(settings, OUTPUT)  # counted from empty each run
                result = run_job(
                    settings,
                    job,
                    bounded=True,
                    parallelism=parallelism,
                    restore="none",
                    params={"explain": explain},
                )
                if result.records_out[OUTPUT] != events:
                    raise RuntimeError(f"scored {result.records_out[OUTPUT]} of {events}")
                rates.append(events / result.seconds)
            label = f"p={parallelism}, explain={explain}"
            runs = ", ".join(f"{r:,.0f}" for r in rates)
            print(f"{label:44} {statistics.median(rates):>16,.0f}   {runs}")


if __name__ == "__main__":
    main()
