"""KDA sliding windows and LAG on Flink and Kafka, each output checked against what KDA
documents it returns, computed here independently of the translation: one output row per
input row; a RANGE window holds the partition's rows whose ROWTIME is within the interval
before the current row's, both edges included (and so every row of the current ROWTIME); a
ROWS n window the current row and the n rows that arrived before it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.tidebox.flink.kda.conftest import Arrival, run_outputs
from tidebox.core.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.flink]

MINUTE = pd.Timedelta(seconds=60)


def frame_of(arrivals: list[Arrival]) -> pd.DataFrame:
    frame = pd.DataFrame([{**r, "when": pd.Timestamp(t)} for t, r in arrivals])
    frame["k"] = frame.groupby("TICKER_SYMBOL").cumcount()  # arrival order in the partition
    return frame


def in_range(frame: pd.DataFrame, row: Any) -> pd.DataFrame:
    """The rows of ``row``'s RANGE INTERVAL '1' MINUTE PRECEDING window."""
    same = frame[frame.TICKER_SYMBOL == row.TICKER_SYMBOL]
    return same[(same.when >= row.when - MINUTE) & (same.when <= row.when)]


def rounded(rows: list[tuple[Any, ...]]) -> Counter[tuple[Any, ...]]:
    return Counter(tuple(round(v, 9) if isinstance(v, float) else v for v in r) for r in rows)


def test_sliding_range_and_row_windows_and_lag(kafka_settings: Settings, tmp_path: Path) -> None:
    def at(seconds: float) -> str:
        return (pd.Timestamp("2026-01-01T00:00:00Z") + pd.Timedelta(seconds=seconds)).isoformat()

    abc = [(0, 10.0), (20, 11.0), (40, 12.0), (60, 13.0), (61, 9.0), (90, 14.0), (100, 14.0),
           (110, 16.0), (120, 17.0), (130, 18.0), (150, 19.0), (200, 20.0),
           (205, 21.0)]  # fmt: skip
    xyz = [(5, 100.0), (30, 101.0), (30, 102.0), (95, 103.0), (96, 104.0)]  # a pair at 30 s
    # (ABC has one price twice in a row: FIRST_VALUE, which LAG reads, retracts by value)
    ticks = sorted(
        [(s, "ABC", p) for s, p in abc] + [(s, "XYZ", p) for s, p in xyz], key=lambda x: x[0]
    )  # stable: the two XYZ rows at 30 s arrive in the order written
    arrivals = [(at(s), {"TICKER_SYMBOL": t, "PRICE": p}) for s, t, p in ticks]
    outputs = ["DESTINATION_SQL_STREAM", "ROWS_STREAM", "LAG_STREAM"]
    columns = {"TICKER_SYMBOL": "STRING", "PRICE": "DOUBLE"}
    got = run_outputs(kafka_settings, tmp_path, "sliding", columns, arrivals, outputs)

    frame = frame_of(arrivals)
    ranges = [(r.TICKER_SYMBOL, in_range(frame, r).PRICE) for r in frame.itertuples()]
    expected = [(t, w.min(), w.max(), w.mean()) for t, w in ranges]
    assert rounded(
        [(r["TICKER_SYMBOL"], r["MIN_PRICE"], r["MAX_PRICE"], r["AVG_PRICE"])
         for r in got["DESTINATION_SQL_STREAM"]]
    ) == rounded(expected)  # fmt: skip
    # the 60 s row's window still holds the 0 s row (edge included): min 10, not 11
    assert ("ABC", 10.0, 13.0, 11.5) in rounded(expected)

    prices = {t: list(g.PRICE) for t, g in frame.groupby("TICKER_SYMBOL")}
    averages = [
        (r.TICKER_SYMBOL, r.PRICE,
         sum(prices[r.TICKER_SYMBOL][max(0, r.k - 2) : r.k + 1]) / min(r.k + 1, 3),
         sum(prices[r.TICKER_SYMBOL][max(0, r.k - 10) : r.k + 1]) / min(r.k + 1, 11))
        for r in frame.itertuples()
    ]  # fmt: skip
    assert rounded(
        [(r["TICKER_SYMBOL"], r["PRICE"], r["AVERAGE_LAST2ROWS"], r["AVERAGE_LAST10ROWS"])
         for r in got["ROWS_STREAM"]]
    ) == rounded(averages)  # fmt: skip

    def lag(row: Any, back: int, default: float | None) -> float | None:
        same = frame[frame.TICKER_SYMBOL == row.TICKER_SYMBOL]
        if row.k < back or same.iloc[row.k - back].when < row.when - MINUTE:
            return default  # no such record, or it falls outside the window
        return float(same.iloc[row.k - back].PRICE)

    lags = [(r.TICKER_SYMBOL, r.PRICE, lag(r, 1, None), lag(r, 2, -1.0))
            for r in frame.itertuples()]  # fmt: skip
    assert rounded(
        [(r["TICKER_SYMBOL"], r["PRICE"], r["PREVIOUS_PRICE"], r["PREVIOUS_PRICE_2"])
         for r in got["LAG_STREAM"]]
    ) == rounded(lags)  # fmt: skip
    assert ("XYZ", 102.0, 101.0, 100.0) in rounded(lags)  # same ROWTIME: by arrival


def test_throttled_alerts(kafka_settings: Settings, tmp_path: Path) -> None:
    def at(seconds: float) -> str:
        return (pd.Timestamp("2026-01-01T00:00:00Z") + pd.Timedelta(seconds=seconds)).isoformat()

    ticks = [
        (0, "ABC", 0.5, 20.0),  # 2.6 %: a trigger
        (10, "ABC", 0.01, 20.0),  # 0.05 %: filtered out
        (30, "XYZ", -2.0, 50.0),  # 3.8 %
        (45, "ABC", 1.0, 21.0),
        (60, "ABC", 0.3, 21.3),  # a minute after the first: still in its window
        (61, "XYZ", 0.0, 50.0),  # 0 %: out
        (80, "XYZ", 1.5, 51.5),
        (120, "ABC", -0.4, 20.9),  # window [60 s, 120 s]: the 60 s trigger in, 45 s out
        (200, "ABC", 0.5, 21.4),  # alone again
    ]
    arrivals = [
        (at(s), {"TICKER_SYMBOL": t, "SECTOR": "TECH", "CHANGE": c, "PRICE": p})
        for s, t, c, p in ticks
    ]
    columns = {"TICKER_SYMBOL": "STRING", "SECTOR": "STRING", "CHANGE": "DOUBLE", "PRICE": "DOUBLE"}
    got = run_outputs(kafka_settings, tmp_path, "throttled_alerts", columns, arrivals,
                      ["TRIGGER_COUNT_STREAM"])["TRIGGER_COUNT_STREAM"]  # fmt: skip

    frame = frame_of(arrivals)
    changes = frame[(frame.CHANGE / (frame.PRICE - frame.CHANGE)).abs() * 100 > 1]
    counts = [(r.TICKER_SYMBOL, r.CHANGE, len(in_range(changes, r))) for r in changes.itertuples()]
    expected = [c for c in counts if c[2] >= 1]
    assert rounded(
        [(r["TICKER_SYMBOL"], r["CHANGE"], r["TRIGGER_COUNT"]) for r in got]
    ) == rounded(expected)  # fmt: skip
    assert [c for _, _, c in expected] == [1, 1, 2, 3, 2, 2, 1]
