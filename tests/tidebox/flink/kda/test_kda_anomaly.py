"""KDA's anomaly and top-K example applications on Flink and Kafka, each output checked against
what KDA documents it returns, computed here independently of the translation."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.tidebox.flink.kda.conftest import Arrival, RunApp

pytestmark = [pytest.mark.integration, pytest.mark.flink]

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
PER_SECOND = 20
WARM_UP = 256  # the forest's sample: KDA's learning phase


def arrivals_of(records: list[dict[str, Any]]) -> list[Arrival]:
    """Records arriving PER_SECOND a second, evenly spaced."""
    step = dt.timedelta(milliseconds=1000 // PER_SECOND)
    return [
        ((START + i * step).isoformat().replace("+00:00", "Z"), record)
        for i, record in enumerate(records)
    ]


def by_second(arrivals: list[Arrival]) -> list[list[dict[str, Any]]]:
    """The arrivals' records in batches of one second, in time order."""
    seconds: dict[str, list[dict[str, Any]]] = {}
    for at, record in arrivals:
        seconds.setdefault(at[:19], []).append(record)
    return [seconds[s] for s in sorted(seconds)]


def test_heart_rate_anomalies_are_scored_and_each_second_sorted(run_app: RunApp) -> None:
    rng = random.Random(7)
    records = [{"heartRate": rng.randint(60, 100), "rateType": "NORMAL"} for _ in range(600)]
    for at in range(320, 600, 35):  # the guide's 1% of out-of-range rates, after the warm-up
        records[at] = {"heartRate": rng.randint(150, 200), "rateType": "HIGH"}
    arrivals = arrivals_of(records)

    out = run_app("anomaly_heart_rate", {"heartRate": "INT", "rateType": "STRING"}, arrivals)

    # every row once, with its score
    assert len(out) == len(records)
    key = ("heartRate", "rateType")
    assert Counter(tuple(r[k] for k in key) for r in out) == Counter(
        tuple(r[k] for k in key) for r in records
    )
    assert all(isinstance(r["ANOMALY_SCORE"], float) for r in out)
    # ORDER BY FLOOR(ROWTIME TO SECOND), ANOMALY_SCORE DESC: the output is the seconds in
    # order, each second's rows (the same ones that arrived in it) by descending score
    position, warmed = 0, []
    for second, batch in enumerate(by_second(arrivals)):
        chunk = out[position : position + len(batch)]
        position += len(batch)
        assert Counter(tuple(r[k] for k in key) for r in chunk) == Counter(
            tuple(r[k] for k in key) for r in batch
        )
        scores = [r["ANOMALY_SCORE"] for r in chunk]
        assert scores == sorted(scores, reverse=True)
        if second * PER_SECOND >= WARM_UP:  # past the learning phase
            warmed += [r["ANOMALY_SCORE"] for r in chunk if r["rateType"] == "NORMAL"]
    # the out-of-range rates stand out: their median tops the normal rows' 95th percentile
    high = [r["ANOMALY_SCORE"] for r in out if r["rateType"] == "HIGH"]
    assert len(high) == 8
    assert float(np.median(high)) > float(np.percentile(warmed, 95))


def test_blood_pressure_explanations_have_kda_shape(run_app: RunApp) -> None:
    rng = random.Random(11)
    records = []
    for i in range(400):
        if i >= 300 and i % 25 == 0:
            row = {"Systolic": rng.randint(130, 200), "Diastolic": rng.randint(90, 150)}
            records.append({**row, "BloodPressureLevel": "HIGH"})
        else:
            row = {"Systolic": rng.randint(90, 120), "Diastolic": rng.randint(60, 80)}
            records.append({**row, "BloodPressureLevel": "NORMAL"})
    arrivals = arrivals_of(records)
    columns = {"Systolic": "INT", "Diastolic": "INT", "BloodPressureLevel": "STRING"}

    out = run_app("anomaly_blood_pressure", columns, arrivals)

    assert len(out) == len(records)
    for row in out:
        text = row["ANOMALY_EXPLANATION"]
        assert len(text) <= 512  # the stream's VARCHAR(512)
        explanation = json.loads(text)
        # KDA's documented shape: the numeric columns only, each {"DIRECTION", "STRENGTH",
        # "ATTRIBUTION_SCORE"} with numbers as strings of 4 decimals, written without spaces
        assert list(explanation) == ["Systolic", "Diastolic"]
        for part in explanation.values():
            assert list(part) == ["DIRECTION", "STRENGTH", "ATTRIBUTION_SCORE"]
            assert part["DIRECTION"] in ("HIGH", "LOW")
            for number in (part["STRENGTH"], part["ATTRIBUTION_SCORE"]):
                assert isinstance(number, str) and len(number.split(".")[1]) == 4
                assert float(number) >= 0
        assert " " not in text
        # "the sum of the attribution scores of all columns is equal to the anomaly score"
        total = sum(float(p["ATTRIBUTION_SCORE"]) for p in explanation.values())
        assert total == pytest.approx(row["ANOMALY_SCORE"], abs=2 * 0.00005 + 1e-9)
    high = [r for r in out if r["BloodPressureLevel"] == "HIGH"]
    normal = [r["ANOMALY_SCORE"] for r in out if r["BloodPressureLevel"] == "NORMAL"]
    assert float(np.median([r["ANOMALY_SCORE"] for r in high])) > np.percentile(normal, 95)
    # the first high reading, met by a forest of normal ones only, is above the trend in both
    # columns; and each high reading's most attributed column is above it
    explained = [json.loads(r["ANOMALY_EXPLANATION"]) for r in high]
    assert [explained[0][c]["DIRECTION"] for c in ("Systolic", "Diastolic")] == ["HIGH", "HIGH"]
    for explanation in explained:
        top = max(explanation.values(), key=lambda p: float(p["ATTRIBUTION_SCORE"]))
        assert top["DIRECTION"] == "HIGH"


def test_top_k_items_tumbling_is_each_windows_most_frequent_values(run_app: RunApp) -> None:
    rng = random.Random(3)
    tickers = ["AAA", "BBB", "CCC", "DDD", "EEE", "FFF", "GGG", "HHH"]
    weights = [30, 20, 14, 10, 7, 5, 3, 1]
    arrivals = []
    for second in range(0, 150, 2):  # two and a half minutes, a record every 2 s
        at = START + dt.timedelta(seconds=second, milliseconds=rng.randint(0, 999))
        ticker = rng.choices(tickers, weights)[0]
        arrivals.append((at.isoformat().replace("+00:00", "Z"), {"TICKER": ticker, "PRICE": 1.0}))

    out = run_app("top_k_items", {"TICKER": "STRING", "PRICE": "DOUBLE"}, arrivals)

    # independently: count each ticker per minute of arrival, keep the 5 most frequent; ties
    # at the 5th place may go either way, so compare the counts and the sure tickers
    frame = pd.DataFrame([{"at": pd.Timestamp(t), **r} for t, r in arrivals])
    frame["minute"] = frame["at"].dt.floor("60s")
    expected = []
    for _, window in frame.groupby("minute"):
        counts = window["TICKER"].value_counts()
        expected.append(counts)
    got_rows = [(r["TICKER"], r["MOST_FREQUENT_VALUES"]) for r in out]
    assert len(got_rows) == sum(min(5, len(c)) for c in expected)
    position = 0
    for counts in expected:  # windows come out in time order, most frequent first
        k = min(5, len(counts))
        window_rows = got_rows[position : position + k]
        position += k
        assert [n for _, n in window_rows] == sorted(counts.tolist(), reverse=True)[:k]
        assert all(counts[t] == n for t, n in window_rows)
