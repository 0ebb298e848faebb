"""The random cut forest: Kinesis parameters, score-then-update, determinism, exact state."""

from __future__ import annotations

import numpy as np
import pytest

from tidebox.anomaly import ForestError, ForestParams, RandomCutForest

SMALL = {"number_of_trees": 30, "sub_sample_size": 64, "seed": 7}


def wave(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.sin(np.arange(n) / 20.0) + rng.normal(0, 0.05, n)


def test_defaults_are_kinesis_analytics_defaults() -> None:
    params = ForestParams()
    assert (params.number_of_trees, params.sub_sample_size) == (100, 256)
    assert (params.time_decay, params.shingle_size) == (100_000, 1)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"number_of_trees": 0}, "numberOfTrees"),
        ({"number_of_trees": 1001}, "numberOfTrees"),
        ({"sub_sample_size": 9}, "subSampleSize"),
        ({"sub_sample_size": 1001}, "subSampleSize"),
        ({"time_decay": 0}, "timeDecay"),
        ({"shingle_size": 31}, "shingleSize"),
        ({"columns": 31}, "columns"),
        ({"sub_sample_size": 300, "time_decay": 300}, "subSampleSize"),
        ({"number_of_trees": 2.5}, "numberOfTrees"),
    ],
)
def test_out_of_range_parameters_are_named(change: dict[str, object], named: str) -> None:
    with pytest.raises(ForestError, match=named) as failure:
        RandomCutForest(ForestParams(**change))  # type: ignore[arg-type]
    assert failure.value.parameter == named
    assert "\n" not in str(failure.value)


def test_nan_and_infinity_are_refused() -> None:
    forest = RandomCutForest(**SMALL)
    with pytest.raises(ForestError, match="NaN or infinity"):
        forest.score_and_update([1.0, float("nan")])
    with pytest.raises(ForestError, match="NaN or infinity"):
        forest.update([float("inf")])
    with pytest.raises(ForestError, match="expected rows of 1"):
        forest.score_and_update(np.zeros((3, 2)))
    assert forest.rows_seen == 0  # nothing half-learned


def test_scores_are_zero_during_warm_up_then_spikes_stand_out() -> None:
    series = wave(3000)
    series[2500] += 4.0
    scores, _, _ = RandomCutForest(**SMALL).score_and_update(series)
    assert np.all(scores[:64] == 0) and np.all(scores[64:] > 0)
    others = np.delete(scores, 2500)[200:]
    assert scores[2500] > 2 * others.max()
    assert 0.5 < np.median(others) < 1.5  # Amazon's scale: about 1 for ordinary points


def test_score_comes_before_update() -> None:
    series = wave(500)
    batch = RandomCutForest(**SMALL).score_and_update(series)[0]
    one_by_one = RandomCutForest(**SMALL)
    stepwise = []
    for value in series:
        stepwise.append(one_by_one.score([value]))
        one_by_one.update([value])
    assert np.array_equal(batch, np.array(stepwise))


def test_same_seed_same_scores_and_another_seed_differs() -> None:
    series = wave(1500)
    first = RandomCutForest(**SMALL).score_and_update(series)[0]
    again = RandomCutForest(**SMALL).score_and_update(series)[0]
    other = RandomCutForest(**{**SMALL, "seed": 8}).score_and_update(series)[0]
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


def test_state_round_trips_exactly() -> None:
    series = wave(2000)
    whole = RandomCutForest(**SMALL).score_and_update(series)[0]
    forest = RandomCutForest(**SMALL)
    head = forest.score_and_update(series[:1234])[0]
    restored = RandomCutForest.from_bytes(forest.to_bytes())
    tail = restored.score_and_update(series[1234:])[0]
    assert np.array_equal(np.concatenate([head, tail]), whole)
    with pytest.raises(ForestError, match="not a saved forest"):
        RandomCutForest.from_bytes(b"garbage")


def test_attribution_splits_the_score_and_points_at_the_column() -> None:
    rng = np.random.default_rng(3)
    rows = rng.normal(0, 1, size=(1500, 3))
    rows[1400, 1] += 9.0  # column 1 jumps up
    rows[1450, 2] -= 9.0  # column 2 drops
    scores, high, low = RandomCutForest(columns=3, **SMALL).score_and_update(rows, attribution=True)
    assert high is not None and low is not None
    assert np.allclose(high.sum(axis=1) + low.sum(axis=1), scores)
    assert np.argmax(high[1400]) == 1 and high[1400, 1] > 0.8 * scores[1400]
    assert np.argmax(low[1450]) == 2 and low[1450, 2] > 0.8 * scores[1450]


def test_shingles_join_consecutive_rows() -> None:
    series = wave(2000)
    forest = RandomCutForest(shingle_size=4, **SMALL)
    scores = forest.score_and_update(series)[0]
    assert forest.params.dimensions == 4
    assert forest.points_seen == 2000 - 3
    assert np.all(scores[: 3 + 64] == 0) and np.all(scores[3 + 64 :] > 0)
    # feeding the rows in pieces makes the same shingles
    pieces = RandomCutForest(shingle_size=4, **SMALL)
    split = np.concatenate(
        [pieces.score_and_update(part)[0] for part in np.split(series, [1, 2, 777])]
    )
    assert np.array_equal(split, scores)


def test_duplicates_add_mass_instead_of_leaves() -> None:
    forest = RandomCutForest(**SMALL)
    scores = forest.score_and_update(np.ones(500))[0]
    assert np.all(scores[64:] < 0.5)  # a value seen many times is not anomalous
    assert forest.score([5.0]) > 1.0
