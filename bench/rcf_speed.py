"""Random cut forest speed, side by side with rrcf, in one run on one core.

Measures points/s for score-then-update (the streaming loop) with tidebox's forest at
Kinesis Data Analytics' defaults (100 trees, sample 256, 1 column, shingle 1), at 50 trees x 8
dimensions, and at the defaults with attribution; and rrcf (PyPI) doing the same
score-then-update loop (codisp, then insert and forget) on the same data. Machines are noisy,
so each figure is the median of several repeats, and the ratio is taken within this run.

    .venv/bin/python bench/rcf_speed.py [--points 20000] [--repeats 3] [--rrcf-points 300]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np

from tidebox.anomaly import RandomCutForest


def series(points: int, dims: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(points)[:, None]
    phase = rng.uniform(0, 6.3, size=(1, dims))
    return np.sin(t / 40.0 + phase) + rng.normal(0, 0.05, size=(points, dims))


def tidebox_rate(data: np.ndarray, trees: int, attribution: bool, repeats: int) -> float:
    """Points/s of score+update after the sample has filled (warm-up and compilation excluded)."""
    rates = []
    for repeat in range(repeats):
        forest = RandomCutForest(
            columns=data.shape[1], number_of_trees=trees, sub_sample_size=256, seed=repeat
        )
        forest.score_and_update(data[:1000], attribution=attribution)  # fill + compile
        begun = time.perf_counter()
        forest.score_and_update(data[1000:], attribution=attribution)
        rates.append((len(data) - 1000) / (time.perf_counter() - begun))
    return statistics.median(rates)


def rrcf_rate(data: np.ndarray, trees: int, points: int, repeats: int) -> float:
    """rrcf streaming: per tree, forget the oldest point, insert the new one, score it (codisp)."""
    import rrcf

    rates = []
    for repeat in range(repeats):
        np.random.seed(repeat)
        forest = [rrcf.RCTree() for _ in range(trees)]
        for index in range(256):  # fill every tree's sample first
            for tree in forest:
                tree.insert_point(data[index], index=index)
        begun = time.perf_counter()
        for index in range(256, 256 + points):
            point = data[index]
            for tree in forest:
                tree.forget_point(index - 256)
                tree.insert_point(point, index=index)
                tree.codisp(index)
        rates.append(points / (time.perf_counter() - begun))
    return statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rrcf-points", type=int, default=300)
    args = parser.parse_args()

    one = series(args.points, 1)
    eight = series(args.points, 8)
    rows = [
        (
            "tidebox, Kinesis defaults (100 trees, 256, 1 dim)",
            tidebox_rate(one, 100, False, args.repeats),
        ),
        ("tidebox, 50 trees x 8 dims", tidebox_rate(eight, 50, False, args.repeats)),
        ("tidebox, Kinesis defaults + attribution", tidebox_rate(one, 100, True, args.repeats)),
    ]
    rrcf_default = rrcf_rate(one, 100, args.rrcf_points, args.repeats)
    rows.append(("rrcf, 100 trees, 256, 1 dim", rrcf_default))
    rrcf_eight = rrcf_rate(eight, 50, args.rrcf_points, args.repeats)
    rows.append(("rrcf, 50 trees x 8 dims", rrcf_eight))

    print(f"{'case':<52} {'points/s':>12}")
    for name, rate in rows:
        print(f"{name:<52} {rate:>12,.0f}")
    print(f"\nspeed-up over rrcf at Kinesis defaults: {rows[0][1] / rrcf_default:,.0f}x")
    print(f"speed-up over rrcf at 50 trees x 8 dims: {rows[1][1] / rrcf_eight:,.0f}x")
    print(f"(medians of {args.repeats} runs; one core; numpy {np.__version__})")


if __name__ == "__main__":
    main()
