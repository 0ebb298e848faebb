"""DetectAnomalies' judgement: known breaks caught, none invented, and the experiment on
synthetic metric histories that chose the method (see tidebox.quality.dqdl.anomalies)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable

import numpy as np
import pytest

from tidebox.quality.dqdl.anomalies import MIN_HISTORY, detect_anomaly

RUNS = 40
SEEDS = range(20)


def _histories(seed: int) -> dict[str, tuple[list[float], set[int]]]:
    """Synthetic metric histories (oldest first) and the runs in them that are broken."""
    rng = np.random.default_rng(seed)
    t = np.arange(RUNS)
    steady = 1000 + rng.normal(0, 10, RUNS)
    trending = 1000 + 25 * t + rng.normal(0, 10, RUNS)
    noisy = 1000 + rng.normal(0, 100, RUNS)
    drop = 1000 + rng.normal(0, 10, RUNS)
    drop[25] = 600  # a load that lost 40% of its rows
    trend_drop = 1000 + 25 * t + rng.normal(0, 10, RUNS)
    trend_drop[30] *= 0.8  # 20% short of a growing table's count
    noisy_drop = 1000 + rng.normal(0, 100, RUNS)
    noisy_drop[20] = 300
    completeness = np.ones(RUNS)
    completeness[33] = 0.9  # a column that was always complete lost 10% of its values
    early = 1000 + rng.normal(0, 10, RUNS)
    early[5] = 500  # a break with five runs of history only
    return {
        "steady": (list(steady), set()),
        "trending": (list(trending), set()),
        "noisy": (list(noisy), set()),
        "drop": (list(drop), {25}),
        "trend_drop": (list(trend_drop), {30}),
        "noisy_drop": (list(noisy_drop), {20}),
        "completeness": (list(completeness), {33}),
        "early_drop": (list(early), {5}),
    }


Judge = Callable[[list[float], float], bool]


def _walk(judge: Judge) -> dict[str, tuple[int, int, int]]:
    """Per kind of history: (false alarms, breaks caught, breaks), judging every run from the
    fourth on against the runs before it, over every seed."""
    totals: dict[str, list[int]] = {}
    for seed in SEEDS:
        for kind, (values, breaks) in _histories(seed).items():
            tally = totals.setdefault(kind, [0, 0, 0])
            for run in range(MIN_HISTORY, RUNS):
                flagged = judge(values[:run][::-1], values[run])  # history newest first
                tally[0] += flagged and run not in breaks
                tally[1] += flagged and run in breaks
            tally[2] += len(breaks)
    return {kind: (t[0], t[1], t[2]) for kind, t in totals.items()}


def _band(history: list[float], value: float) -> bool:
    return detect_anomaly(history, value).is_anomaly


def _mean_3sd(history: list[float], value: float) -> bool:
    """The baseline: mean +/- 3 standard deviations of the same 30 runs."""
    recent = history[:30]
    return abs(value - statistics.fmean(recent)) > 3 * max(statistics.pstdev(recent), 1e-12)


def test_the_experiment_behind_the_method() -> None:
    """740 judged runs of each kind (20 seeds x 37 runs). The band: no false alarm on steady
    or trending histories, under 1% on noisy ones, every break caught. Mean +/- 3 sd: false
    alarms on steady histories, and a break on a trend is never caught."""
    band = _walk(_band)
    baseline = _walk(_mean_3sd)
    print("\nkind: band (false alarms, caught/breaks) | mean+/-3sd")
    for kind in band:
        (fa, caught, breaks), (bfa, bcaught, _) = band[kind], baseline[kind]
        print(f"{kind:>13}: {fa:3d} {caught:2d}/{breaks:<2d} | {bfa:3d} {bcaught:2d}/{breaks}")
    for kind in ("steady", "trending", "drop", "trend_drop", "completeness", "early_drop"):
        assert band[kind][0] == 0, kind
    assert band["noisy"][0] <= 7 and band["noisy_drop"][0] <= 7  # under 1% of 740
    assert all(caught == breaks for _, caught, breaks in band.values())
    assert baseline["steady"][0] > 5 and baseline["trend_drop"][1] == 0


def test_too_little_history_is_not_judged() -> None:
    verdict = detect_anomaly([100.0, 101.0], 5.0)
    assert not verdict.is_anomaly and not verdict.ready
    assert (verdict.expected_low, verdict.expected_high, verdict.score) == (None, None, None)
    assert "needs 3 earlier runs with this metric, there are 2" in verdict.reason
    assert detect_anomaly([100.0, 101.0, 99.0], 5.0).is_anomaly


def test_a_drop_is_reported_with_its_expected_range() -> None:
    history = [1000.0, 1004.0, 996.0, 1001.0, 999.0, 1003.0, 997.0, 1000.0, 1002.0, 998.0]
    verdict = detect_anomaly(history, 600.0)
    assert verdict.is_anomaly and verdict.score is not None and verdict.score > 1
    assert verdict.expected_low is not None and verdict.expected_high is not None
    assert verdict.expected_low < 1000 < verdict.expected_high
    assert verdict.expected_low > 600
    assert verdict.reason.startswith("600 is below the expected range")
    fine = detect_anomaly(history, 1003.0)
    assert not fine.is_anomaly and fine.score is not None and fine.score < 1
    assert "within the expected range" in fine.reason


def test_a_trend_moves_the_band() -> None:
    history = [1000.0 + 25 * t for t in range(12)][::-1]  # 1275 is the latest
    verdict = detect_anomaly(history, 1300.0)
    assert not verdict.is_anomaly and "trend of +25 a run" in verdict.reason
    assert verdict.expected_low == pytest.approx(1300 - 3.5 * (1 + 6 / 12) * 13)
    assert detect_anomaly(history, 1000.0).is_anomaly  # the level of the start is now wrong


def test_a_metric_that_never_moved_may_move_a_little() -> None:
    always_complete = [1.0] * 10
    assert not detect_anomaly(always_complete, 0.99).is_anomaly
    assert detect_anomaly(always_complete, 0.9).is_anomaly
    assert detect_anomaly([0.0] * 5, 0.0).score == 0.0


def test_a_past_anomaly_does_not_widen_the_band() -> None:
    history = [1000.0, 1002.0, 100.0, 998.0, 1001.0, 999.0, 1003.0, 997.0]
    assert detect_anomaly(history, 700.0).is_anomaly
    assert not detect_anomaly([*history[:2], math.nan, *history[3:]], 1001.0).is_anomaly
