"""Grades in [0, 1] from an adaptive threshold over recent scores."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tidebox.anomaly import ForestError
from tidebox.anomaly.threshold import Thresholder


def test_ordinary_scores_grade_zero_and_outliers_grade_up_to_one() -> None:
    rng = np.random.default_rng(1)
    thresholder = Thresholder()
    grades = [thresholder.grade_and_update(s) for s in rng.normal(1.0, 0.1, 2000)]
    assert np.mean(np.array(grades[500:]) > 0) < 0.01  # a 3-sigma excursion is rare
    assert thresholder.grade(2.0) > 0.9
    assert 0 < thresholder.grade(1.45) < 1
    assert all(0.0 <= g <= 1.0 for g in grades)


def test_a_burst_of_anomalies_does_not_raise_the_bar_for_the_next() -> None:
    thresholder = Thresholder()
    for s in np.random.default_rng(2).normal(1.0, 0.1, 1000):
        thresholder.update(s)
    before = thresholder.threshold
    for _ in range(20):
        thresholder.update(5.0)
    assert thresholder.threshold < before * 1.2  # learned only as far as the threshold
    assert thresholder.grade(5.0) == 1.0


def test_warm_up_and_zero_scores() -> None:
    thresholder = Thresholder(warmup=10)
    assert thresholder.grade_and_update(9.0) == 0.0  # nothing learned yet: no grade
    for _ in range(5):
        thresholder.update(0.0)  # the forest's warm-up zeros are ignored
    assert thresholder.count == 1


def test_state_round_trips_and_bad_settings_are_named() -> None:
    thresholder = Thresholder()
    for s in (1.0, 1.2, 0.9):
        thresholder.update(s)
    assert Thresholder.from_dict(thresholder.to_dict()) == thresholder
    with pytest.raises(ForestError, match="z_factor"):
        Thresholder(z_factor=0)


def test_suppression_raises_one_alarm_per_event_and_scale_grades_by_score() -> None:
    thresholder = Thresholder(suppression=50, scale=8.0)
    for s in np.random.default_rng(3).normal(1.0, 0.05, 300):
        thresholder.update(s)
    assert thresholder.grade_and_update(4.0) == 0.5  # 4 / 8
    assert thresholder.grade_and_update(3.5) == 0.0  # below the alarm just raised
    assert thresholder.grade_and_update(9.0) == 1.0  # a bigger event still counts, capped
    assert len(thresholder.recent) <= 50
    assert Thresholder.from_dict(thresholder.to_dict()) == thresholder


def test_rarity_tells_a_recurring_spike_from_a_first_time_event() -> None:
    thresholder = Thresholder(scale=8.0, rarity=1000)
    for row in range(1000):
        thresholder.update(4.0 if row % 100 == 99 else 1.0)  # a spike every 100 rows
    assert thresholder.rarity_of(4.0) == pytest.approx(
        math.log(1001 / 11) / math.log(1001)  # ten of the thousand scores are as high
    )
    assert thresholder.rarity_of(5.0) == 1.0  # tops a full history
    assert thresholder.rarity_of(0.5) == 0.0
    recurring, new = thresholder.grade(4.0), thresholder.grade(5.0)
    assert new == 5.0 / 8.0 and 0 < recurring < 0.5 * 4.0 / 8.0  # rarity squared weighs in


def test_rarity_keeps_the_last_scores_and_round_trips() -> None:
    thresholder = Thresholder(suppression=5, scale=8.0, rarity=50)
    for s in np.random.default_rng(4).gamma(4.0, 0.25, 500):
        thresholder.grade_and_update(float(s))
    assert len(thresholder.history) == 50
    restored = Thresholder.from_dict(thresholder.to_dict())
    assert restored == thresholder
    assert [restored.grade_and_update(s) for s in (0.5, 3.0, 9.0)] == [
        thresholder.grade_and_update(s) for s in (0.5, 3.0, 9.0)
    ]
    with pytest.raises(ForestError, match="rarity"):
        Thresholder(rarity=-1)
    with pytest.raises(ForestError, match="rarity"):
        Thresholder(rarity=2, history=[1.0, 2.0, 3.0])
