"""The Numenta Anomaly Benchmark's scoring, for judging detectors on a NAB-layout folder.

As Lavin & Ahmad (2015) define it: the first ``min(15% of rows, 750)`` rows of a file are a
probation period and do not count. A detection is a row whose detector value reaches the
threshold. In a labelled window only the earliest detection counts, rewarded by a scaled
sigmoid of its position (``2 / (1 + e^(5x)) - 1`` with x from -1 at the window's start to 0 at
its end, rescaled so that the window's first row earns the full true-positive weight); a
window without detection costs the false-negative weight. A detection outside every window
is a false positive, penalised by the same sigmoid of its distance past the preceding window
in window widths (or fully, before any window). Each profile weighs these; its threshold is
chosen to maximise the corpus total, which is then normalised so that the detector that never
fires scores 0 and the one that fires at the start of every window scores 100.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from tidebox.core.errors import InputFileError

if TYPE_CHECKING:
    from tidebox.anomaly.forest import ForestParams

PROFILES: dict[str, dict[str, float]] = {
    "standard": {"tp": 1.0, "fp": 0.11, "fn": 1.0},
    "reward_low_FP_rate": {"tp": 1.0, "fp": 0.22, "fn": 1.0},
    "reward_low_FN_rate": {"tp": 1.0, "fp": 0.11, "fn": 2.0},
}


@dataclass(frozen=True)
class LabelledSeries:
    """One NAB data file with its windows as inclusive row ranges."""

    name: str
    timestamps: pd.Series
    values: np.ndarray
    windows: tuple[tuple[int, int], ...]

    @property
    def probation(self) -> int:
        return min(math.floor(0.15 * len(self.values)), 750)


@dataclass(frozen=True)
class ProfileScore:
    profile: str
    score: float  # normalised: null detector 0, perfect detector 100
    threshold: float
    raw: float


def scaled_sigmoid(x: float) -> float:
    """NAB's reward curve: about 1 at x = -1, 0 at x = 0, tending to -1 for large x."""
    if x > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * x)) - 1.0


def load_corpus(folder: str | Path) -> list[LabelledSeries]:
    """Every ``data/<category>/<file>.csv`` with its windows (``labels/combined_windows.json``)."""
    root = Path(folder)
    labels_file = root / "labels" / "combined_windows.json"
    if not labels_file.is_file():
        raise InputFileError(str(labels_file), "not found: is this a NAB folder?")
    labels = json.loads(labels_file.read_text())
    corpus = []
    for name in sorted(labels):
        path = root / "data" / name
        if not path.is_file():
            raise InputFileError(str(path), "labelled in combined_windows.json but missing")
        frame = pd.read_csv(path)
        stamps = pd.to_datetime(frame["timestamp"])
        windows = []
        for start, end in labels[name]:
            inside = np.flatnonzero((stamps >= pd.Timestamp(start)) & (stamps <= pd.Timestamp(end)))
            if len(inside):
                windows.append((int(inside[0]), int(inside[-1])))
        values = frame["value"].to_numpy(dtype=np.float64)
        corpus.append(LabelledSeries(name, stamps, values, tuple(windows)))
    return corpus


def _row_rewards(
    series: LabelledSeries, weights: dict[str, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the window it belongs to (-1: none) and what detecting it is worth."""
    rows = len(series.values)
    window_of = np.full(rows, -1)
    reward = np.zeros(rows)
    full = scaled_sigmoid(-1.0)
    previous_end, previous_width = -1, 0
    windows = iter(series.windows)
    current = next(windows, None)
    for i in range(rows):
        while current is not None and i > current[1]:
            previous_end, previous_width = current[1], current[1] - current[0] + 1
            current = next(windows, None)
        if current is not None and current[0] <= i <= current[1]:
            width = current[1] - current[0] + 1
            position = -(current[1] - i + 1) / width
            window_of[i] = series.windows.index(current)
            reward[i] = weights["tp"] * scaled_sigmoid(position) / full
        elif previous_end < 0:
            reward[i] = -weights["fp"]
        else:
            distance = abs(previous_end - i) / max(previous_width - 1, 1)
            reward[i] = weights["fp"] * scaled_sigmoid(distance)
    return window_of, reward


def score_profile(
    corpus: list[LabelledSeries], detections: dict[str, np.ndarray], profile: str
) -> ProfileScore:
    """The best corpus score over all thresholds for one profile, normalised."""
    weights = PROFILES[profile]
    values, windows_of, rewards, keys = [], [], [], []
    window_count = 0
    for series in corpus:
        window_of, reward = _row_rewards(series, weights)
        start = series.probation
        values.append(np.asarray(detections[series.name], dtype=np.float64)[start:])
        windows_of.append(np.where(window_of[start:] >= 0, window_of[start:] + window_count, -1))
        rewards.append(reward[start:])
        window_count += len(series.windows)
        keys.append(series.name)
    score = np.concatenate(values)
    window = np.concatenate(windows_of)
    reward = np.concatenate(rewards)
    null = -weights["fn"] * window_count
    perfect = weights["tp"] * window_count

    order = np.argsort(-score, kind="stable")
    best_in_window = np.full(window_count, -np.inf)
    total = null
    best_total, best_threshold = null, float(score.max(initial=1.0)) + 1e-9
    i = 0
    while i < len(order):
        level = score[order[i]]
        while i < len(order) and score[order[i]] == level:  # a threshold admits ties together
            row = order[i]
            w = window[row]
            if w < 0:
                total += reward[row]
            elif reward[row] > best_in_window[w]:
                before = best_in_window[w] if best_in_window[w] > -np.inf else -weights["fn"]
                best_in_window[w] = reward[row]
                total += reward[row] - before
            i += 1
        if total > best_total:
            best_total, best_threshold = total, float(level)
    normalised = 100.0 * (best_total - null) / (perfect - null) if perfect != null else 0.0
    return ProfileScore(profile, normalised, best_threshold, best_total)


def score_at_threshold(
    corpus: list[LabelledSeries], detections: dict[str, np.ndarray], profile: str, threshold: float
) -> float:
    """The normalised score of one profile at a given threshold (not the corpus' best): how a
    threshold chosen on other files fares on these."""
    weights = PROFILES[profile]
    total, window_count = 0.0, 0
    for series in corpus:
        window_of, reward = _row_rewards(series, weights)
        start = series.probation
        hit = np.asarray(detections[series.name], dtype=np.float64)[start:] >= threshold
        window_of, reward = window_of[start:], reward[start:]
        total += float(reward[hit & (window_of < 0)].sum())
        for w in range(len(series.windows)):
            first = np.flatnonzero(hit & (window_of == w))
            total += float(reward[first[0]]) if len(first) else -weights["fn"]
        window_count += len(series.windows)
    null, perfect = -weights["fn"] * window_count, weights["tp"] * window_count
    return 100.0 * (total - null) / (perfect - null) if perfect != null else 0.0


def evaluate(
    corpus: list[LabelledSeries], detector: Callable[[np.ndarray], np.ndarray]
) -> list[ProfileScore]:
    """Run the detector over every file (values in, per-row values in [0, 1] out) and score it."""
    detections = {series.name: detector(series.values) for series in corpus}
    return [score_profile(corpus, detections, profile) for profile in PROFILES]


def kinesis_detector(seed: int = 0) -> Callable[[np.ndarray], np.ndarray]:
    """RANDOM_CUT_FOREST at its defaults, scored as NAB's run of Amazon's function was:
    ANOMALY_SCORE / log2(subSampleSize), capped at 1."""
    from tidebox.anomaly.forest import RandomCutForest

    def detect(values: np.ndarray) -> np.ndarray:
        forest = RandomCutForest(seed=seed)
        scores, _, _ = forest.score_and_update(values)
        return kinesis_values(scores, forest.params)

    return detect


def kinesis_values(scores: np.ndarray, params: ForestParams) -> np.ndarray:
    """ANOMALY_SCORE on NAB's scale, as NAB's run of Amazon's function had it: divided by
    log2(subSampleSize), capped at 1 (the NAB pipeline scores landed scores this way too)."""
    return np.asarray(np.minimum(scores / params.normaliser, 1.0))


def tuned_detector(seed: int = 0) -> Callable[[np.ndarray], np.ndarray]:
    """The tuned preset (its forest and its grading), scored on its anomaly_grade."""
    from tidebox.anomaly.forest import RandomCutForest
    from tidebox.anomaly.scoring import params_for, thresholder_for

    def detect(values: np.ndarray) -> np.ndarray:
        params = params_for("tuned", 1, seed=seed)
        scores, _, _ = RandomCutForest(params).score_and_update(values)
        thresholder = thresholder_for("tuned", params)
        return np.array([thresholder.grade_and_update(float(s)) for s in scores])

    return detect


DETECTORS: dict[str, Callable[[int], Callable[[np.ndarray], np.ndarray]]] = {
    "kinesis": kinesis_detector,
    "tuned": tuned_detector,
}
