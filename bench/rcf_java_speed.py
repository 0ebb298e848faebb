"""The Java forest (tidebox/java) beside the Python one: speed, state size, and equality.

Scores one random walk with spikes (4 columns by default) with 100 trees of 256 points, in
Python (``RandomCutForest.score_and_update`` over all rows in one call, Numba compilation
excluded) and in Java (``io.tidebox.anomaly.Replay``, which times its scoring calls alone:
parsing and printing are not counted), with and without attribution; then checks that both
gave the same bits for every row, and prints the saved state's size on both sides.

    .venv/bin/python bench/rcf_java_speed.py [--rows 200000] [--columns 4]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np

import tidebox
from tidebox.anomaly import ForestParams, RandomCutForest


def walk(rows: int, columns: int, seed: int = 0) -> np.ndarray:
    """A random walk per column, with a spike on about one row in 500."""
    rng = np.random.default_rng(seed)
    values = np.cumsum(rng.normal(0.0, 1.0, (rows, columns)), axis=0)
    spikes = rng.random(rows) < 0.002
    values[spikes] += rng.normal(0.0, 40.0, (int(spikes.sum()), columns))
    return values


def compile_java(out: Path) -> None:
    sources = [str(p) for p in sorted((Path(tidebox.__file__).parent / "java").rglob("*.java"))]
    subprocess.run(["javac", "--release", "17", "-d", str(out), *sources], check=True)


def java_run(
    classes: Path, params: ForestParams, rows: np.ndarray, attribution: bool
) -> tuple[np.ndarray, dict[str, str]]:
    header = (
        f"numberOfTrees={params.number_of_trees} subSampleSize={params.sub_sample_size} "
        f"columns={params.columns} seed={params.seed} attribution={str(attribution).lower()}"
    )
    body = "\n".join(" ".join(repr(v) for v in row) for row in rows.tolist())
    done = subprocess.run(
        ["java", "-cp", str(classes), "io.tidebox.anomaly.Replay"],
        input=f"{header}\n{body}\n",
        capture_output=True,
        text=True,
        check=True,
    )
    bits = np.array(
        [[int(h, 16) for h in line.split()] for line in done.stdout.splitlines()],
        dtype=np.uint64,
    )
    return bits, dict(word.split("=", 1) for word in done.stderr.split())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--columns", type=int, default=4)
    args = parser.parse_args()
    params = ForestParams(columns=args.columns)
    rows = walk(args.rows, args.columns)
    RandomCutForest(ForestParams(columns=args.columns, number_of_trees=2, sub_sample_size=10))
    RandomCutForest(
        ForestParams(columns=args.columns, number_of_trees=2, sub_sample_size=10)
    ).score_and_update(rows[:50], attribution=True)  # compile (or load) the kernels

    with tempfile.TemporaryDirectory() as folder:
        classes = Path(folder)
        compile_java(classes)
        for attribution in (False, True):
            forest = RandomCutForest(params)
            begun = time.perf_counter()
            scores, high, low = forest.score_and_update(rows, attribution=attribution)
            python_s = time.perf_counter() - begun
            bits, figures = java_run(classes, params, rows, attribution)
            java_s = int(figures["score_ns"]) / 1e9
            ours = np.column_stack([scores] + ([high, low] if attribution else []))
            same = bool((bits[:, [0, *range(2, bits.shape[1])]] == ours.view(np.uint64)).all())
            label = "with attribution" if attribution else "scores only"
            print(
                f"{label}: Python {len(rows) / python_s:,.0f} rows/s "
                f"({python_s * 1e9 / len(rows):,.0f} ns/row), Java {len(rows) / java_s:,.0f} "
                f"rows/s ({java_s * 1e9 / len(rows):,.0f} ns/row), same bits: {same}"
            )
        print(
            f"state: Java toBytes {int(figures['state_bytes']):,} bytes "
            f"(save {int(figures['to_bytes_ns']) / 1e6:.1f} ms, restore "
            f"{int(figures['from_bytes_ns']) / 1e6:.1f} ms), Python to_bytes "
            f"{len(forest.to_bytes()):,} bytes"
        )


if __name__ == "__main__":
    main()
