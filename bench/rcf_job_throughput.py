"""Readings/s of RANDOM_CUT_FOREST in a SQL job, beside its plumbing and the offline forest.

Replays a generated fleet (``--devices`` sensors, one reading every ``--interval`` seconds)
into a 2-shard stream, then runs, Kafka to Kafka, exactly-once, bounded, at parallelism
``--parallelism``:

* ``passthrough``: the same columns copied through Flink SQL with no function (Kafka, JSON and
  the transactions: the floor every job pays);
* ``no-op scorer``: jobs/device_anomaly_scores.sql with the function scoring every row 0
  (``tidebox.rcf.no-op-scorer``): the ordering by event time, the timers and the state, without
  a forest;
* ``forest``: jobs/device_anomaly_scores.sql as shipped: one forest per device, Kinesis
  Analytics' defaults (100 trees x 256 points) but the tuned preset's timeDecay (5000), four
  columns, the tuned grade;
* ``offline``: the same rows scored by ``RandomCutForest`` in this process (what ``tidebox
  anomaly score`` runs), one forest per device.

The time of a job is the whole run (planning, start, every reading, the final commit). Each
figure is the median of ``--repeats`` runs.

    .venv/bin/python bench/rcf_job_throughput.py [--hours 24] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tidebox.anomaly.forest import RandomCutForest  # noqa: E402
from tidebox.anomaly.scoring import params_for, thresholder_for  # noqa: E402
from tidebox.core.settings import SENSORS, load_settings  # noqa: E402
from tidebox.flink.runner import run_job  # noqa: E402
from tidebox.runtime import start_broker  # noqa: E402
from tidebox.streams.admin import list_streams, recreate_stream  # noqa: E402
from tidebox.streams.generate import GenerateSpec, generate_frame, write_dataset  # noqa: E402
from tidebox.streams.replay import replay  # noqa: E402

SOURCE, OUTPUT = "bench_rcf_readings", "bench_rcf_scores"
JOB = REPO / "jobs" / "device_anomaly_scores.sql"
NO_OP = "SET 'pipeline.global-job-parameters' = 'tidebox.rcf.no-op-scorer:true';\n"
PASSTHROUGH = f"""INSERT INTO {OUTPUT}
SELECT device_id, event_time, temperature, humidity, vibration, battery,
       CAST(0 AS DOUBLE) AS anomaly_score
FROM {SOURCE}"""


def job_files(folder: Path) -> dict[str, Path]:
    """The three jobs, reading the bench's stream and writing the bench's output."""
    shipped = JOB.read_text().replace("TABLE sensor_readings", f"TABLE {SOURCE}")
    shipped = shipped.replace("INTO device_anomaly_scores", f"INTO {OUTPUT}")
    texts = {"passthrough": PASSTHROUGH, "no-op scorer": NO_OP + shipped, "forest": shipped}
    files = {}
    for label, text in texts.items():
        path = folder / f"bench_rcf_{label.replace(' ', '_').replace('-', '_')}.sql"
        path.write_text(text)
        files[label] = path
    return files


def offline_rate(spec: GenerateSpec) -> float:
    """Readings/s of the Python forest over the same fleet, one forest per device."""
    frame = generate_frame(spec).sort_values("event_time", kind="stable")
    started = time.perf_counter()
    for _, rows in frame.groupby("device_id"):
        params = params_for("tuned", len(SENSORS))  # as the job's grade => 'tuned'
        scores, _, _ = RandomCutForest(params).score_and_update(rows[list(SENSORS)].to_numpy())
        grading = thresholder_for("tuned", params)
        for score in scores:
            grading.grade_and_update(float(score))
    return len(frame) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, default=20)
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--parallelism", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    base = load_settings()
    readings = base.stream("sensor_readings")
    if readings is None:
        raise SystemExit("no sensor_readings stream declared")
    spec = readings.model_copy(update={"name": SOURCE})
    settings = base.model_copy(update={"streams": (*base.streams, spec)})
    start_broker(settings)
    folder = settings.state_dir / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    fleet = GenerateSpec(devices=args.devices, hours=args.hours, interval_seconds=args.interval)
    data = write_dataset(fleet, folder / "rcf_readings.csv")
    recreate_stream(settings, SOURCE)
    events = replay(settings, [data.path], SOURCE).events
    print(f"{events:,} readings of {args.devices} devices in {SOURCE} (2 shards)")

    print(f"\n{'run (p=' + str(args.parallelism) + ')':24} {'median readings/s':>18}   runs")
    for label, path in job_files(folder).items():
        rates = []
        for _ in range(args.repeats):
            if OUTPUT in list_streams(settings):
                recreate_stream(settings, OUTPUT)  # counted from empty each run
            result = run_job(
                settings, path, bounded=True, parallelism=args.parallelism, restore="none"
            )
            if result.records_out[OUTPUT] != events:
                raise RuntimeError(f"{label}: wrote {result.records_out[OUTPUT]} of {events}")
            rates.append(events / result.seconds)
        runs = ", ".join(f"{r:,.0f}" for r in rates)
        print(f"{label:24} {statistics.median(rates):>18,.0f}   {runs}")
    offline = [offline_rate(fleet) for _ in range(args.repeats)]
    runs = ", ".join(f"{r:,.0f}" for r in offline)
    print(f"{'offline (1 process)':24} {statistics.median(offline):>18,.0f}   {runs}")


if __name__ == "__main__":
    main()
