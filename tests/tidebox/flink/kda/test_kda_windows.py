"""KDA SQL windowed applications on Flink and Kafka, each output checked against what KDA
documents it returns, computed here independently of the translation."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.tidebox.flink.kda.conftest import RunApp

pytestmark = [pytest.mark.integration, pytest.mark.flink]

TICKS = {"TICKER": "STRING", "PRICE": "DOUBLE"}


def test_tumbling_window_on_rowtime(run_app: RunApp) -> None:
    arrivals = [
        ("2026-01-01T00:00:05Z", {"TICKER": "ABC", "PRICE": 10.0}),
        ("2026-01-01T00:00:35Z", {"TICKER": "ABC", "PRICE": 12.5}),
        ("2026-01-01T00:00:40Z", {"TICKER": "XYZ", "PRICE": 5.0}),
        ("2026-01-01T00:01:10Z", {"TICKER": "ABC", "PRICE": 9.0}),
        ("2026-01-01T00:02:59.999Z", {"TICKER": "XYZ", "PRICE": 7.0}),
        ("2026-01-01T00:03:00Z", {"TICKER": "XYZ", "PRICE": 8.0}),
    ]
    out = run_app("tumbling_rowtime", TICKS, arrivals)
    # KDA: STEP(ROWTIME BY 60 s) rounds each arrival down to its minute; one row per ticker
    # and minute, with the minimum and maximum price
    frame = pd.DataFrame([{**r, "at": pd.Timestamp(t)} for t, r in arrivals])
    frame["minute"] = frame["at"].dt.floor("60s").dt.tz_localize(None)
    expected = {
        (k[0], m.isoformat()): (g.PRICE.min(), g.PRICE.max())
        for k, g in frame.groupby(["TICKER", "minute"])
        for m in [k[1]]
    }
    got = {
        (r["TICKER"], pd.Timestamp(r["WINDOW_START"]).isoformat()): (r["MIN_PRICE"], r["MAX_PRICE"])
        for r in out
    }
    assert got == expected and len(out) == len(expected) == 5
