"""Turn anomaly scores into grades in [0, 1] with an adaptive threshold.

In the spirit of Amazon's ThresholdedRandomCutForest: keep a discounted mean and deviation of
recent scores; a score above ``mean + z * deviation`` (and above an absolute floor) is an
anomaly, graded by how far above it lies, reaching 1 at one more ``z * deviation`` beyond. An
anomalous score enters the statistics clipped to the threshold, so that a burst of anomalies
does not teach the threshold to accept the next one.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from tidebox.anomaly.forest import ForestError


@dataclass
class Thresholder:
    """Adaptive threshold over a stream of scores (one per key, like the forest)."""

    z_factor: float = 3.0
    horizon: float = 256.0  # scores of effective memory: the discount is 1 - 1/horizon
    floor: float = 1.0  # no grade below this score (Kinesis scale: ordinary points score ~1)
    warmup: int = 32  # scores seen before grading starts
    count: int = 0
    mean: float = 0.0
    second: float = 0.0  # discounted mean of squared scores

    def __post_init__(self) -> None:
        if self.z_factor <= 0 or self.horizon < 1 or self.warmup < 0:
            raise ForestError("z_factor must be positive, horizon at least 1, warmup >= 0")

    @property
    def deviation(self) -> float:
        return math.sqrt(max(self.second - self.mean * self.mean, 0.0))

    @property
    def threshold(self) -> float:
        return max(self.floor, self.mean + self.z_factor * self.deviation)

    def grade(self, score: float) -> float:
        """The grade of a score against the statistics so far (0: not anomalous)."""
        if self.count < self.warmup or score <= self.threshold:
            return 0.0
        width = max(self.z_factor * self.deviation, 1e-9)
        return min(1.0, (score - self.threshold) / width)

    def update(self, score: float) -> None:
        """Learn a score; zero scores (the forest's warm-up) are not learned."""
        if score <= 0.0:
            return
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

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    @classmethod
    def from_dict(cls, state: dict[str, float]) -> Thresholder:
        return cls(**state)  # type: ignore[arg-type]
