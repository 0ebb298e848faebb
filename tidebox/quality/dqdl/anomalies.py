"""DetectAnomalies: does this run's metric break from the metric's own history?

Glue Data Quality stores a ``DetectAnomalies`` rule's metric on every run and, once it has
enough of them, judges the new value against all of that history; the rule fails when the value
is an anomaly, and Glue's observations give the range it expected. AWS states the minimum: at
least three earlier data points before a run can be scored. Glue's model is not published; this
is tidebox's, chosen to be explained in one sentence and to work from three points:

    The value is an anomaly when it falls outside *expected ± 3.5 × (1 + 6/n) × spread*, where
    *expected* is the median of the last (up to) 30 runs, moved along their trend when there
    is one, and *spread* is how far those runs stray from it.

In detail, over the ``n`` latest earlier values (at most :data:`WINDOW`):

- level: the median; trend: from 8 values on, the Theil-Sen slope (the median of the slopes
  between every two runs) is used when it cuts the spread of the residuals below 0.7 of the
  level's, and *expected* is that line one run ahead. Medians ignore a past anomaly or two, so
  a run that was flagged does not drag the band after it;
- spread: the residuals' median absolute deviation scaled to a standard deviation (x 1.4826),
  raised, for n <= 10, to the range of all residuals but the one furthest out / d2(n - 1)
  (the median of three points is one of them, so the MAD of a handful underestimates), and to
  1% of the level, so a metric that never moved (Completeness 1.0, ColumnCount 12) may still
  move a little before it is an anomaly;
- the band widens by (1 + 6/n) with few runs: 3 x at 3 runs, 1.2 x at 30.

:func:`detect_anomaly` returns the band (``expected_low``/``expected_high``) and ``score``:
the distance from *expected* in band half-widths, above 1 for an anomaly. Seasonality (a weekly
pattern) is not modelled: it widens the spread, so it costs missed breaks, not false alarms.

Why not tidebox's random cut forest (:class:`tidebox.anomaly.forest.RandomCutForest`): it gives
every record a score of 0 until it has seen ``subSampleSize`` of them (10 at least) where Glue
starts at 3, its score has no unit a user can check, and it gives no expected range. Why not a
mean +/- 3 standard deviations: one past anomaly inflates both, and a trend looks like
anomalies. ``tests/tidebox/quality/test_dqdl_anomalies.py`` keeps the experiment behind these
choices: walking through 20 seeded synthetic histories of each kind (steady, trending, noisy,
and those with one broken run), this band raised no false alarm on steady and trending series
and under 1% on noisy ones (10% noise), and caught every break (a drop of 40% on steady counts,
of 20% on a trend, of 70% on noisy ones, Completeness 1.0 to 0.9, a drop at the fifth run),
where mean +/- 3 sd raised 14 false alarms on steady series and missed every drop on a trend.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

MIN_HISTORY = 3
"""Earlier values needed before a run is judged (AWS: anomaly detection needs at least three
data points)."""
WINDOW = 30
K = 3.5
WIDEN_RUNS = 6
TREND_FROM = 8
TREND_GAIN = 0.7
RELATIVE_FLOOR = 0.01
MAD_SCALE = 1.4826
_D2 = {2: 1.128, 3: 1.693, 4: 2.059, 5: 2.326, 6: 2.534, 7: 2.704, 8: 2.847, 9: 2.970, 10: 3.078}
"""d2(n): the expected range of n standard normal values (control-chart constants)."""


@dataclass(frozen=True)
class AnomalyVerdict:
    """The judgement on one value. With too little history ``is_anomaly`` is False and the
    bounds and score are None (``ready`` is False): Glue scores nothing until it can."""

    is_anomaly: bool
    expected_low: float | None
    expected_high: float | None
    score: float | None
    reason: str

    @property
    def ready(self) -> bool:
        return self.score is not None


def detect_anomaly(history: Sequence[float], value: float) -> AnomalyVerdict:
    """Judge ``value`` against ``history`` (the metric's earlier values, most recent first, as
    :func:`~tidebox.quality.dqdl.history.metric_history` returns them)."""
    points = [float(v) for v in history[:WINDOW] if math.isfinite(v)][::-1]  # oldest first
    n = len(points)
    if n < MIN_HISTORY:
        return AnomalyVerdict(
            False,
            None,
            None,
            None,
            f"not judged: anomaly detection needs {MIN_HISTORY} earlier runs with this metric,"
            f" there are {n}",
        )
    slope, level, spread = _fit(points)
    expected = level + slope * n
    spread = max(spread, RELATIVE_FLOOR * abs(expected), 1e-12)
    half_width = K * (1 + WIDEN_RUNS / n) * spread
    low, high = expected - half_width, expected + half_width
    score = abs(value - expected) / half_width if math.isfinite(value) else math.inf
    basis = (
        f"the last {n} runs' trend of {slope:+.6g} a run"
        if slope
        else f"the median of the last {n} runs"
    )
    if not math.isfinite(value):
        return AnomalyVerdict(True, low, high, score, f"{value} is not a number")
    if score > 1:
        side = "below" if value < low else "above"
        reason = (
            f"{value:.6g} is {side} the expected range {low:.6g} to {high:.6g} "
            f"(from {basis}; {score:.2f} times the band's half-width from {expected:.6g})"
        )
    else:
        reason = f"{value:.6g} is within the expected range {low:.6g} to {high:.6g} ({basis})"
    return AnomalyVerdict(score > 1, low, high, score, reason)


def _fit(points: list[float]) -> tuple[float, float, float]:
    """(slope per run, level at the first run, spread) of the oldest-first ``points``."""
    level, spread = _line(points, 0.0)
    if len(points) >= TREND_FROM:
        slope = statistics.median(
            (points[j] - points[i]) / (j - i)
            for i in range(len(points))
            for j in range(i + 1, len(points))
        )
        trend_level, trend_spread = _line(points, slope)
        if trend_spread < TREND_GAIN * spread:
            return slope, trend_level, trend_spread
    return 0.0, level, spread


def _line(points: list[float], slope: float) -> tuple[float, float]:
    """The median intercept of a line of ``slope`` through the points, and the spread of the
    points around it."""
    level = statistics.median(y - slope * t for t, y in enumerate(points))
    residuals = [y - (level + slope * t) for t, y in enumerate(points)]
    spread = MAD_SCALE * statistics.median(abs(r) for r in residuals)
    if len(points) in _D2:  # the range of all but the residual furthest out
        kept = sorted(residuals, key=abs)[:-1]
        spread = max(spread, (max(kept) - min(kept)) / _D2[len(kept)])
    return level, spread
