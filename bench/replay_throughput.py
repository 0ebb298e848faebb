"""Replay throughput: `tidebox replay` beside Kafka's own kafka-producer-perf-test, on the same
broker, with the same record count and record size.

1. A CSV of ``--records`` sensor readings (``tidebox generate``: 1,000 devices, one reading each
   per 10 s) is written once. Its records' mean size S is measured from the JSON replay sends.
2. Kafka's ProducerPerformance (kafka-tools 4.1.1, what ``kafka-producer-perf-test.sh`` runs,
   with that script's JVM options; its jars are fetched once with Maven into
   ``<state>/bench/kafka-tools``) sends ``--records`` records of S bytes with ``acks=all`` as
   fast as it can (``--throughput -1``) into a fresh stream of ``--shards`` shards.
3. ``tidebox replay FILE --stream ...`` sends the file into a fresh stream of the same shards:
   reading the CSV, ordering it by event time, encoding JSON, routing each key, acks=all.

Each run is a whole process, timed from its start to its exit (wall clock); perf-test's own
records/s (from its first record to its last acknowledgement) is shown too. Peak RSS is each
process's own (getrusage of the children of a fresh wrapper process). Runs alternate, and the
figures are medians of ``--repeats`` runs; every run is checked to have stored every record.
perf-test sends no keys; replay keys each record by its device.

    tidebox up && .venv/bin/python bench/replay_throughput.py [--records 2000000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import pandas as pd  # noqa: E402

from tidebox.core.records import parse_times  # noqa: E402
from tidebox.core.settings import Settings, StreamSpec, load_settings  # noqa: E402
from tidebox.runtime import start_broker  # noqa: E402
from tidebox.streams.admin import recreate_stream, shard_offsets  # noqa: E402
from tidebox.streams.generate import GenerateSpec, write_dataset  # noqa: E402
from tidebox.streams.replay import encode_records  # noqa: E402

POM = REPO / "bench" / "kafka-tools.xml"
PERF_TEST = "org.apache.kafka.tools.ProducerPerformance"
# kafka-producer-perf-test.sh's heap, and kafka-run-class.sh's JVM performance options
JVM_OPTIONS = [
    "-Xmx512M",
    "-server",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-XX:MaxInlineLevel=15",
    "-Djava.awt.headless=true",
]
TIDEBOX = str(Path(sys.executable).parent / "tidebox")
# runs a command and prints its wall-clock seconds and its peak RSS (KB), measured from outside
TIMER = (
    "import resource, subprocess, sys, time\n"
    "started = time.perf_counter()\n"
    "code = subprocess.call(sys.argv[2:], stdout=open(sys.argv[1], 'w'))\n"
    "seconds = time.perf_counter() - started\n"
    "print(code, seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


@dataclass(frozen=True)
class Run:
    seconds: float
    rss_mb: float
    own_rate: float | None  # what the program reports of itself

    def rate(self, records: int) -> float:
        return records / self.seconds


def kafka_tools(state_dir: Path) -> Path:
    """The folder of kafka-tools' jars, fetched with Maven once per version of the pom."""
    dest = (state_dir / "bench" / "kafka-tools").resolve()
    digest = hashlib.sha256(POM.read_bytes()).hexdigest()[:16]
    marker = dest / ".fetched-from"
    if marker.exists() and marker.read_text().strip() == digest:
        return dest
    mvn = shutil.which("mvn")
    if mvn is None:
        raise SystemExit("Maven (mvn) is needed once to fetch kafka-tools")
    shutil.rmtree(dest, ignore_errors=True)
    command = [mvn, "-q", "-B", "-f", str(POM), "dependency:copy-dependencies"]
    command += [f"-DoutputDirectory={dest}", "-DincludeScope=runtime"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"Maven could not fetch kafka-tools: {done.stdout[-500:]}")
    marker.write_text(digest + "\n")
    return dest


def record_size(path: Path, sample_rows: int = 100_000) -> int:
    """The mean size in bytes of the JSON replay sends for the file's first rows."""
    frame = pd.read_csv(
        path, nrows=sample_rows, dtype={"device_id": "string"}, float_precision="round_trip"
    )
    frame["event_time"] = parse_times(frame, "event_time", path)
    sizes = [len(value) for _, value, _ in encode_records(frame, "event_time", "device_id")]
    return round(sum(sizes) / len(sizes))


def timed(command: list[str], log: Path) -> tuple[float, float, str]:
    """Wall-clock seconds, peak RSS (MB) and standard output of one run of ``command``."""
    done = subprocess.run(
        [sys.executable, "-c", TIMER, str(log), *command],
        capture_output=True,
        text=True,
        check=True,
    )
    code, seconds, rss_kb = done.stdout.split()
    output = log.read_text()
    if code != "0":
        raise SystemExit(f"{command[0]} failed ({code}): {output[-500:]}")
    return float(seconds), int(rss_kb) / 1024, output


def stored(settings: Settings, stream: str) -> int:
    return sum(hi - lo for lo, hi in shard_offsets(settings, stream).values())


def perf_test(settings: Settings, jars: Path, stream: str, records: int, size: int) -> Run:
    recreate_stream(settings, stream)
    command = ["java", *JVM_OPTIONS, "-cp", f"{jars}/*", PERF_TEST, "--topic", stream]
    command += ["--num-records", str(records), "--record-size", str(size), "--throughput", "-1"]
    command += ["--producer-props", f"bootstrap.servers={settings.kafka_bootstrap}", "acks=all"]
    seconds, rss, output = timed(command, settings.state_dir / "bench" / "perf-test.log")
    summary = output.strip().splitlines()[-1]
    found = re.search(r"([\d.]+) records/sec", summary)
    if stored(settings, stream) != records:
        raise SystemExit(f"perf-test stored {stored(settings, stream)} of {records}")
    return Run(seconds, rss, float(found.group(1)) if found else None)


def replay_run(settings: Settings, path: Path, stream: str, records: int) -> Run:
    recreate_stream(settings, stream)
    command = [TIDEBOX, "replay", str(path), "--stream", stream]
    command += ["--time-field", "event_time", "--key-field", "device_id"]
    seconds, rss, output = timed(command, settings.state_dir / "bench" / "replay.log")
    found = re.search(r"\(([\d,]+) events/s\)", output)
    if stored(settings, stream) != records:
        raise SystemExit(f"replay stored {stored(settings, stream)} of {records}")
    return Run(seconds, rss, float(found.group(1).replace(",", "")) if found else None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2_000_000)
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    settings = load_settings()
    if settings.embedded:
        start_broker(settings)
    names = {"perf": "bench_replay_perf_test", "replay": "bench_replay_tidebox"}
    streams = [StreamSpec(name=n, shards=args.shards) for n in names.values()]
    settings = settings.model_copy(update={"streams": (*settings.streams, *streams)})
    jars = kafka_tools(settings.state_dir)

    devices = 1000
    records = args.records // devices * devices
    data = settings.state_dir / "bench" / f"replay_{records}.csv"
    if not data.exists():
        hours = records // devices * 10 / 3600
        write_dataset(GenerateSpec(devices=devices, hours=hours, interval_seconds=10), data)
    size = record_size(data)
    print(
        f"{records:,} sensor readings of {devices:,} devices in {data.name} "
        f"({data.stat().st_size / 2**20:,.0f} MB), {size} bytes of JSON each; "
        f"{args.shards} shards, acks=all; medians of {args.repeats}"
    )

    runs: dict[str, list[Run]] = {"perf": [], "replay": []}
    for i in range(args.repeats):
        runs["perf"].append(perf_test(settings, jars, names["perf"], records, size))
        runs["replay"].append(replay_run(settings, data, names["replay"], records))
        perf, mine = runs["perf"][-1], runs["replay"][-1]
        print(
            f"  run {i + 1}: perf-test {perf.rate(records):,.0f}/s ({perf.seconds:.1f} s), "
            f"tidebox replay {mine.rate(records):,.0f}/s ({mine.seconds:.1f} s)"
        )

    rates = {k: statistics.median(r.rate(records) for r in v) for k, v in runs.items()}
    print(f"\n{'whole process':40} {'records/s':>10} {'own figure':>11} {'peak RSS':>9}")
    for label, title in (("perf", "kafka-producer-perf-test"), ("replay", "tidebox replay")):
        own = [r.own_rate for r in runs[label] if r.own_rate is not None]
        own_median = f"{statistics.median(own):,.0f}" if own else "-"
        rss = statistics.median(r.rss_mb for r in runs[label])
        print(f"{title:40} {rates[label]:>10,.0f} {own_median:>11} {rss:>6,.0f} MB")
    ratio = rates["replay"] / rates["perf"]
    print(
        f"\ntidebox replay / kafka-producer-perf-test, records/s of the whole process: {ratio:.2f}"
    )


if __name__ == "__main__":
    main()
