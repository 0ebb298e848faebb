"""Kinesis PutRecords throughput: tidebox's endpoint beside kinesis-mock, same boto3 workload.

Producers reach tidebox through boto3's Kinesis client as they would reach AWS, so the cost
of its endpoint (HTTP, JSON 1.1, base64, routing by hash key, the Kafka produce) is what a
user sees. The peer is kinesis-mock (npm ``kinesis-local``, its Scala.js build on node), the
usual local Kinesis, which keeps records in memory and never throttles.

1. tidebox: the embedded broker in a temporary state folder, and two endpoints as detached
   processes (``start_api``, as ``tidebox up`` runs it): one with the shard limits off (raw
   speed, the fair peer of kinesis-mock) and one with them on (Kinesis' 1,000 records/s and
   1 MiB/s per shard, so 4,000 records/s on 4 shards; refused records are counted, not sent
   again).
2. kinesis-local: installed with npm into a cache folder outside git, started on a free port
   over plain HTTP, bound to 127.0.0.1 (a ``--require`` shim: it listens on 0.0.0.0 itself),
   stream creation delay 0.
3. Workload, the same for every target: a new 4-shard stream per run; ``--threads`` boto3
   clients (retries off, a connection each) send ``--records`` ~200-byte JSON sensor readings
   with random device partition keys in PutRecords batches of 500, built before the clock
   starts. Records/s is records acknowledged over the wall time from the first call to the
   last answer; latency is per call.
4. Correctness first: after each run the stream's records are counted where they landed
   (tidebox: the topic's offsets in Kafka; kinesis-local: GetRecords over every shard) and
   must equal the records acknowledged.

Targets alternate within each of ``--runs`` rounds; figures are medians, the ratio is taken
within this run. The default is 30,000 records a run because kinesis-mock's PutRecords slows
as its stream grows (one client, 500-record calls on a 4-shard stream: 0.3-0.5 s per call at
first, 1.2 s by 18,000 records), so its run time grows with the square of the records;
200,000 would take it about an hour a run (extrapolated). tidebox's time per call does not grow.
Peak memory is each server process's VmHWM (for tidebox: the endpoint and, separately, the
broker's JVM).

    .venv/bin/python bench/kinesis_put_records.py [--records 30000] [--runs 3] [--threads 4]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import boto3  # noqa: E402
import orjson  # noqa: E402
from botocore.config import Config  # noqa: E402
from confluent_kafka import Consumer  # noqa: E402

from tidebox.core.settings import Settings  # noqa: E402
from tidebox.runtime import start_broker, stop_broker  # noqa: E402
from tidebox.runtime.api_process import start_api, stop_api  # noqa: E402
from tidebox.runtime.kafka_broker import broker_status  # noqa: E402

KINESIS_LOCAL = "kinesis-local@0.6.2"
SHARDS = 4
BATCH = 500
REGION = "us-east-1"
DEVICES = 1000
# kinesis-mock listens on 0.0.0.0 whatever it is told; keep it on the loopback interface.
LOOPBACK_SHIM = """\
const net = require("net");
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === "number" && (args.length < 2 || typeof args[1] === "function")) {
    args.splice(1, 0, "127.0.0.1");
  } else if (typeof args[0] === "number" && ["0.0.0.0", "::"].includes(args[1])) {
    args[1] = "127.0.0.1";
  }
  return listen.apply(this, args);
};
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_pair() -> int:
    """A port p with p and p + 1 free (the broker and its controller)."""
    while True:
        port = free_port()
        try:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", port + 1))
        except OSError:
            continue
        return port


def peak_rss_mib(pid: int | None) -> float:
    if pid is None:
        return float("nan")
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def kinesis_client(url: str, threads: int) -> Any:
    return boto3.client(
        "kinesis",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(
            retries={"total_max_attempts": 1, "mode": "standard"},
            max_pool_connections=threads,
        ),
    )


def make_batches(records: int, seed: int = 7) -> tuple[list[list[dict[str, Any]]], float]:
    """PutRecords batches of JSON sensor readings, and the readings' mean size in bytes."""
    rng = random.Random(seed)
    batches: list[list[dict[str, Any]]] = []
    size = 0
    start = 1_767_225_600.0
    for i in range(0, records, BATCH):
        batch = []
        for j in range(i, min(i + BATCH, records)):
            device = f"dev-{rng.randrange(DEVICES):04d}"
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(start + j // 20))
            data = orjson.dumps(
                {
                    "device_id": device,
                    "event_time": f"{stamp}.{j % 1000:03d}Z",
                    "temperature": round(20 + rng.random() * 10, 2),
                    "humidity": round(40 + rng.random() * 5, 2),
                    "vibration": round(rng.random() / 3, 3),
                    "battery": round(90 - rng.random(), 2),
                    "is_anomaly": False,
                    "anomaly_type": None,
                    "anomaly_sensor": None,
                }
            )
            size += len(data)
            batch.append({"Data": data, "PartitionKey": device})
        batches.append(batch)
    return batches, size / records


@dataclass
class Run:
    target: str
    seconds: float
    accepted: int
    failed: int
    errors: int
    latencies_ms: list[float] = field(default_factory=list)
    landed: int = -1

    @property
    def rate(self) -> float:
        return self.accepted / self.seconds

    def latency(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


@dataclass
class Target:
    name: str
    url: str
    count: Callable[[Any, str], int]
    pids: dict[str, int | None]
    clients: list[Any] = field(default_factory=list)


def wait_active(client: Any, stream: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = client.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]
        if status["StreamStatus"] == "ACTIVE":
            return
        time.sleep(0.05)
    raise RuntimeError(f"{stream} did not become ACTIVE")


def put_all(target: Target, stream: str, batches: list[list[dict[str, Any]]]) -> Run:
    """Send the batches from one thread per client; every call is timed."""
    share = [batches[i :: len(target.clients)] for i in range(len(target.clients))]
    lock = threading.Lock()
    run = Run(target.name, 0.0, 0, 0, 0)
    barrier = threading.Barrier(len(target.clients) + 1)

    def send(client: Any, mine: list[list[dict[str, Any]]]) -> None:
        latencies: list[float] = []
        accepted = failed = errors = 0
        barrier.wait()
        for batch in mine:
            began = time.perf_counter()
            try:
                answer = client.put_records(StreamName=stream, Records=batch)
            except Exception:  # a refused or failed call counts as failed
                errors += 1
                failed += len(batch)
                continue
            latencies.append((time.perf_counter() - began) * 1000)
            failed += answer["FailedRecordCount"]
            accepted += len(batch) - answer["FailedRecordCount"]
        with lock:
            run.latencies_ms.extend(latencies)
            run.accepted += accepted
            run.failed += failed
            run.errors += errors

    threads = [
        threading.Thread(target=send, args=(client, mine))
        for client, mine in zip(target.clients, share, strict=True)
    ]
    for thread in threads:
        thread.start()
    barrier.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    run.seconds = time.perf_counter() - began
    return run


def count_kafka(consumer: Any) -> Callable[[Any, str], int]:
    """Records in the stream's topic: the sum of its partitions' offset ranges."""
    from confluent_kafka import TopicPartition

    def count(_client: Any, stream: str) -> int:
        total = 0
        for partition in range(SHARDS):
            low, high = consumer.get_watermark_offsets(
                TopicPartition(stream, partition), timeout=10
            )
            total += high - low
        return total

    return count


def count_get_records(client: Any, stream: str) -> int:
    """Records in the stream read back with GetRecords from every shard's trim horizon."""
    total = 0
    shards = client.list_shards(StreamName=stream)["Shards"]
    for shard in shards:
        iterator = client.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            answer = client.get_records(ShardIterator=iterator, Limit=10_000)
            total += len(answer["Records"])
            if not answer["Records"] and answer.get("MillisBehindLatest", 0) == 0:
                break
            iterator = answer.get("NextShardIterator")
    return total


def start_kinesis_local(node_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    node_dir = node_dir.resolve()
    main = node_dir / "node_modules" / "kinesis-local" / "main.js"
    if not main.exists():
        node_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--prefix", str(node_dir), "--no-save", KINESIS_LOCAL],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    shim = node_dir / "loopback.js"
    shim.write_text(LOOPBACK_SHIM)
    env = dict(
        os.environ,
        KINESIS_MOCK_PLAIN_PORT=str(port),
        KINESIS_MOCK_TLS_PORT=str(free_port()),
        CREATE_STREAM_DURATION="0ms",
        DELETE_STREAM_DURATION="0ms",
        SHARD_LIMIT="1000",
        LOG_LEVEL="WARN",
        SHOULD_PERSIST_DATA="false",
        AWS_REGION=REGION,
    )
    with open(log, "ab") as out:
        process = subprocess.Popen(
            ["node", "--require", str(shim), str(main)],
            cwd=main.parent,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    probe = kinesis_client(f"http://127.0.0.1:{port}", 1)
    deadline = time.monotonic() + 60
    while True:
        try:
            probe.list_streams()
            return process
        except Exception:  # not answering yet
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"kinesis-local did not start: see {log}") from None
            time.sleep(0.2)


def api_pid(settings: Settings) -> int | None:
    try:
        return int((settings.state_dir / "api" / "endpoint.pid").read_text())
    except (OSError, ValueError):
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=30_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument(
        "--node-dir",
        type=Path,
        default=REPO / ".tidebox" / "node",
        help="where kinesis-local is installed (a cache outside git)",
    )
    parser.add_argument("--no-limited", action="store_true", help="skip tidebox with limits on")
    args = parser.parse_args()

    state = Path(tempfile.mkdtemp(prefix="tidebox-kbench-"))
    kafka_port = free_pair()
    broker = Settings(state_dir=state / "tidebox", kafka_port=kafka_port)
    bootstrap = broker.kafka_bootstrap
    raw = Settings(
        state_dir=state / "raw",
        bootstrap_servers=bootstrap,
        api_port=free_port(),
        shard_limits=False,
    )
    limited = Settings(
        state_dir=state / "limited",
        bootstrap_servers=bootstrap,
        api_port=free_port(),
        shard_limits=True,
    )
    mock_port = free_port()
    mock: subprocess.Popen[bytes] | None = None
    consumer: Any = None
    started: list[Settings] = []
    try:
        print(f"state {state}; starting the broker, the endpoints and kinesis-local ...")
        start_broker(broker)
        for settings in (raw, limited) if not args.no_limited else (raw,):
            start_api(settings)
            started.append(settings)
        mock = start_kinesis_local(args.node_dir, mock_port, state / "kinesis-local.log")
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "kbench"})
        kafka_count = count_kafka(consumer)
        broker_pid = broker_status(broker).pid
        targets = [
            Target(
                "tidebox",
                raw.api_url,
                kafka_count,
                {"endpoint": api_pid(raw), "broker": broker_pid},
            ),
            Target("kinesis-local", f"http://127.0.0.1:{mock_port}", count_get_records, {}),
        ]
        targets[1].pids["server"] = mock.pid
        if not args.no_limited:
            targets.append(
                Target(
                    "tidebox, limits on",
                    limited.api_url,
                    kafka_count,
                    {"endpoint": api_pid(limited)},
                )
            )
        for target in targets:
            target.clients = [kinesis_client(target.url, 1) for _ in range(args.threads)]

        batches, mean_size = make_batches(args.records)
        print(
            f"{args.records:,} records of {mean_size:.0f} bytes in batches of {BATCH}, "
            f"{args.threads} threads, {SHARDS} shards, {args.runs} runs each"
        )
        runs: dict[str, list[Run]] = {target.name: [] for target in targets}
        for round_ in range(args.runs):
            order = targets if round_ % 2 == 0 else targets[::-1]
            for target in order:
                client = target.clients[0]
                stream = f"kbench-{round_}-{target.name.split(',')[0]}-{len(runs[target.name])}"
                if target is targets[-1] and not args.no_limited:
                    stream += "-limited"
                client.create_stream(StreamName=stream, ShardCount=SHARDS)
                wait_active(client, stream)
                run = put_all(target, stream, batches)
                run.landed = target.count(client, stream)
                runs[target.name].append(run)
                ok = "ok" if run.landed == run.accepted else "MISMATCH"
                print(
                    f"  {target.name:20s} {run.rate:9,.0f} rec/s acknowledged {run.accepted:,} "
                    f"refused {run.failed:,} (failed calls {run.errors}) "
                    f"p50 {run.latency(0.5):.0f} ms p99 {run.latency(0.99):.0f} ms; "
                    f"landed {run.landed:,} {ok}"
                )
                client.delete_stream(StreamName=stream, EnforceConsumerDeletion=True)

        print()
        print("| target | records/s acknowledged | refused | p50 call ms | p99 call ms | landed |")
        print("|---|---|---|---|---|---|")
        medians: dict[str, float] = {}
        for name, found in runs.items():
            medians[name] = statistics.median(r.rate for r in found)
            refused = statistics.median(r.failed for r in found)
            p50 = statistics.median(r.latency(0.5) for r in found)
            p99 = statistics.median(r.latency(0.99) for r in found)
            landed = "all" if all(r.landed == r.accepted for r in found) else "MISMATCH"
            print(
                f"| {name} | {medians[name]:,.0f} | {refused:,.0f} | {p50:.0f} | {p99:.0f} "
                f"| {landed} |"
            )
        print()
        ratio = medians["tidebox"] / medians["kinesis-local"]
        print(f"tidebox (limits off) / kinesis-local: {ratio:.2f}x")
        for target in targets:
            memory = ", ".join(
                f"{role} {peak_rss_mib(pid):.0f} MiB" for role, pid in target.pids.items()
            )
            print(f"peak RSS (VmHWM) {target.name}: {memory}")
    finally:
        if consumer is not None:
            consumer.close()
        if mock is not None and mock.poll() is None:
            os.killpg(mock.pid, signal.SIGTERM)
            try:
                mock.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(mock.pid, signal.SIGKILL)
        for settings in started:
            stop_api(settings)
        stop_broker(broker)
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    main()
