"""Query speed over landed Parquet: a GROUP BY over 50M rows, and a small query's first result.

1. 50M sensor readings (200 devices, 30 days) are landed once as hourly-partitioned Parquet
   (``dt=/hour=``, 720 partitions, Snappy) under ``.tidebox/bench/readings`` by DuckDB, and
   registered with ``tidebox catalog crawl``.
2. ``GROUP BY device_id`` (count, avg, max) over all 50M rows through ``tidebox.lake.query``:
   rows/s, data scanned and its Athena cost. Side by side: the same SQL in plain DuckDB over a
   glob of the same files, with no catalog and no byte counting (the ceiling).
3. Time to the first result of a small query (one hour of one day): ``tidebox query`` in a new
   process (cold: imports, catalog, listing, DuckDB start), and ``run_query`` again in a warm
   process. The target is under 1 s cold.

Medians of ``--repeats`` runs.

    .venv/bin/python bench/query_scan.py [--rows 50000000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import duckdb  # noqa: E402

from tidebox.core.settings import Settings  # noqa: E402
from tidebox.lake.crawler import crawl  # noqa: E402
from tidebox.lake.query import run_query  # noqa: E402
from tidebox.lake.tables import describe_table  # noqa: E402

GROUP_BY = (
    "SELECT device_id, count(*) AS readings, avg(temperature) AS temperature, "
    "max(vibration) AS vibration FROM {table} GROUP BY device_id"
)
SMALL = (
    "SELECT count(*) AS n, avg(temperature) AS t FROM readings "
    "WHERE dt = '2026-01-15' AND hour = '07'"
)


def land(root: Path, rows: int) -> None:
    """Write the readings once (kept for later runs)."""
    marker = root / f".complete-{rows}"
    if marker.exists():
        return
    if root.exists():
        subprocess.run(["rm", "-rf", str(root)], check=True)
    root.mkdir(parents=True)
    step_ms = 30 * 24 * 3600 * 1000 / rows
    started = time.perf_counter()
    duckdb.execute(
        f"""
        COPY (
          SELECT device_id, event_time, temperature, humidity, vibration, battery,
                 strftime(event_time, '%Y-%m-%d') AS dt, strftime(event_time, '%H') AS hour
          FROM (
            SELECT 'dev-' || lpad((i % 200)::VARCHAR, 3, '0') AS device_id,
                   TIMESTAMP '2026-01-01' + to_milliseconds(CAST(i * {step_ms} AS BIGINT))
                     AS event_time,
                   20 + 5 * sin(i / 5000.0) + random() AS temperature,
                   50 + 10 * cos(i / 7000.0) + random() AS humidity,
                   random() * random() AS vibration,
                   100 - i / {rows / 50} AS battery
            FROM range({rows}) t(i)
          )
        ) TO '{root}' (FORMAT parquet, COMPRESSION snappy, PARTITION_BY (dt, hour))
        """
    )
    marker.write_text(f"{rows}\n")
    print(f"landed {rows:,} rows in {time.perf_counter() - started:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    state = REPO / ".tidebox" / "bench"
    root = state / "readings"
    land(root, args.rows)
    settings = Settings(state_dir=state / "state", bucket=state)
    started = time.perf_counter()
    crawl(settings, str(root), "readings")
    print(f"crawled in {time.perf_counter() - started:.2f} s")
    partitions = len(describe_table(settings, "readings").partitions)
    size = sum(p.stat().st_size for p in root.rglob("*.parquet"))
    print(f"{args.rows:,} rows in {partitions} partitions, {size / 2**20:,.0f} MiB of Parquet")

    tidebox_runs, scanned = [], 0
    for _ in range(args.repeats):
        result = run_query(settings, GROUP_BY.format(table="readings"))
        tidebox_runs.append(result.seconds)
        scanned, cost = result.bytes_scanned, result.cost_usd
    duck_runs = []
    glob = f"read_parquet('{root}/*/*/*.parquet', hive_partitioning = true)"
    for _ in range(args.repeats):
        con = duckdb.connect()
        begun = time.perf_counter()
        con.execute(GROUP_BY.format(table=glob)).fetchall()
        duck_runs.append(time.perf_counter() - begun)
        con.close()
    ours, theirs = statistics.median(tidebox_runs), statistics.median(duck_runs)
    print("\n| GROUP BY over all rows | seconds | rows/s |\n|---|---|---|")
    print(f"| tidebox query (catalog, counted reads) | {ours:.2f} | {args.rows / ours:,.0f} |")
    print(f"| plain DuckDB over a glob | {theirs:.2f} | {args.rows / theirs:,.0f} |")
    print(f"tidebox/DuckDB time ratio {ours / theirs:.2f}; data scanned {scanned / 2**20:,.1f} MiB "
          f"(of {size / 2**20:,.0f}), Athena cost ${cost:.4f}")  # fmt: skip

    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TIDEBOX_")},
        "TIDEBOX_STATE_DIR": str(settings.state_dir),
        "TIDEBOX_BUCKET": str(state),
    }
    tidebox = str(Path(sys.executable).parent / "tidebox")
    cold = []
    for _ in range(max(5, args.repeats)):
        begun = time.perf_counter()
        done = subprocess.run(
            [tidebox, "query", SMALL, "--format", "csv"], env=env, capture_output=True, text=True
        )
        cold.append(time.perf_counter() - begun)
        if done.returncode != 0:
            raise SystemExit(done.stderr)
    warm = []
    for _ in range(max(5, args.repeats)):
        begun = time.perf_counter()
        run_query(settings, SMALL)
        warm.append(time.perf_counter() - begun)
    print("\n| first result of a one-hour query | seconds |\n|---|---|")
    print(f"| new process (`tidebox query`), cold | {statistics.median(cold):.3f} |")
    print(f"| same process (`run_query`), warm | {statistics.median(warm):.3f} |")


if __name__ == "__main__":
    main()
