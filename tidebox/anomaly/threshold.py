"""Turn anomaly scores into grades in [0, 1] with an adaptive threshold.

In the spirit of Amazon's ThresholdedRandomCutForest: keep a discounted mean and deviation of
recent scores; a score above ``mean + z * deviation`` (and above an absolute floor) is an
anomaly, graded by how far above it lies, reaching 1 at one more ``z * deviation`` beyond (or,
with ``scale`` set, graded ``score / scale`` capped at 1). An anomalous score enters the
statistics clipped to the threshold, so that a burst of anomalies does not teach the threshold
to accept the next one. With ``suppression`` set, a score is only an anomaly if it also tops
every score of the last ``suppression`` rows: one event raises one alarm, not a volley.

With ``rarity`` set, the grade is further multiplied by the square of the score's rarity among
the last ``rarity`` scores: with ``above`` of the ``held`` scores kept at least as high, the
chance of doing as well by luck is ``(above + 1) / (held + 1)``, and the rarity is its negative
logarithm over ``log(rarity + 1)``, 1 for a score that tops a full history. It needs no model
of the scores' distribution, and it tells a key's ordinary spikes (a daily peak that comes back
every day) from a first-time event of the same height. Logarithms are fdlibm's (as Java's
``StrictMath.log``), so that the Java port grades bit for bit alike.
"""

from __future__ import annotations

import math
from bisect import bisect_left, insort
from dataclasses import asdict, dataclass, field

from tidebox.anomaly._fdlibm import log
from tidebox.anomaly.forest import ForestError


@dataclass
class Thresholder:
    """Adaptive threshold over a stream of scores (one per key, like the forest)."""

    z_factor: float = 3.0
    horizon: float = 256.0  # scores of effective memory: the discount is 1 - 1/horizon
    floor: float = 1.0  # no grade below this score (Kinesis scale: ordinary points score ~1)
    warmup: int = 32  # scores seen before grading starts
    suppression: int = 0  # rows whose scores a new anomaly must top (0: no suppression)
    scale: float | None = None  # grade = score / scale (capped) instead of the z-width ramp
    rarity: int = 0  # scores a grade's rarity is counted against (0: grades ignore rarity)
    count: int = 0
    mean: float = 0.0
    second: float = 0.0  # discounted mean of squared scores
    recent: list[float] = field(default_factory=list)  # the last `suppression` scores
    history: list[float] = field(default_factory=list)  # the last `rarity` scores, oldest first

    def __post_init__(self) -> None:
        if self.z_factor <= 0 or self.horizon < 1 or self.warmup < 0 or self.suppression < 0:
            raise ForestError(
                "z_factor must be positive, horizon at least 1, warmup and suppression >= 0"
            )
        if self.scale is not None and self.scale <= 0:
            raise ForestError("scale must be positive")
        if self.rarity < 0 or len(self.history) > self.rarity:
            raise ForestError("rarity must be >= 0 and hold at most that many scores")
        self._ranked = sorted(self.history)  # the history in increasing order

    @property
    def deviation(self) -> float:
        return math.sqrt(max(self.second - self.mean * self.mean, 0.0))

    @property
    def threshold(self) -> float:
        return max(self.floor, self.mean + self.z_factor * self.deviation)

    def rarity_of(self, score: float) -> float:
        """How rare the score is among the history: 0 if every kept score is as high, 1 if it
        tops a full history of ``rarity`` scores."""
        held = len(self._ranked)
        above = held - bisect_left(self._ranked, score)
        return float(log((held + 1.0) / (above + 1.0)) / log(self.rarity + 1.0))

    def grade(self, score: float) -> float:
        """The grade of a score against the statistics so far (0: not anomalous)."""
        if self.count < self.warmup or score <= self.threshold:
            return 0.0
        if self.recent and score < max(self.recent):
            return 0.0  # not above what the last `suppression` rows already reached
        if self.scale is not None:
            grade = min(1.0, score / self.scale)
        else:
            width = max(self.z_factor * self.deviation, 1e-9)
            grade = min(1.0, (score - self.threshold) / width)
        if self.rarity:
            rarity = self.rarity_of(score)
            grade = grade * (rarity * rarity)
        return grade

    def update(self, score: float) -> None:
        """Learn a score; zero scores (the forest's warm-up) are not learned."""
        if score <= 0.0:
            return
        if self.suppression:
            self.recent.append(score)
            del self.recent[: -self.suppression]
        if self.rarity:
            self.history.append(score)
            insort(self._ranked, score)
            if len(self.history) > self.rarity:
                oldest = self.history.pop(0)
                del self._ranked[bisect_left(self._ranked, oldest)]
        if self.count >= self.warmup:
            score = min(score, self.threshold)
        self.count += 1
        weight = max(1.0 / self.count, 1.0 / self.horizon)
        self.mean += weight * (score - self.mean)
        self.second += weight * (score * score - self.second)

    def grade_and_update(self, score: float) -> float:
        grade = self.grade(score)
        self.update(score)
        return grade

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, state: dict[str, object]) -> Thresholder:
        return cls(**state)  # type: ignore[arg-type]
