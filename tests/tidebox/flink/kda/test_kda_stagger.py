"""KDA SQL stagger windows on Flink and Kafka, the output checked against the stagger
semantics computed here in plain Python, independently of the translation."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.tidebox.flink.kda.conftest import Arrival, RunApp

pytestmark = [pytest.mark.integration, pytest.mark.flink]

TICKS = {"EVENT_TIME": "TIMESTAMP(3)", "TICKER_SYMBOL": "STRING", "PRICE": "DOUBLE"}
MINUTE = dt.timedelta(minutes=1)

Key = tuple[dt.datetime, str]


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"2026-01-01T{text}")


def stagger(arrivals: list[Arrival]) -> dict[tuple[Key, dt.datetime], list[dict[str, Any]]]:
    """KDA's stagger windows by hand: per key (EVENT_TIME's minute, ticker) a window opens at
    the key's first arrival, takes the key's arrivals before open + 1 minute, and yields its
    rows at that close time; the key's next arrival opens its next window."""
    windows: dict[tuple[Key, dt.datetime], list[dict[str, Any]]] = {}
    closing: dict[Key, dt.datetime] = {}
    for when, record in sorted(arrivals, key=lambda a: a[0]):
        arrived = dt.datetime.fromisoformat(when.removesuffix("Z"))
        event = dt.datetime.fromisoformat(record["EVENT_TIME"])
        key = (event.replace(second=0, microsecond=0), record["TICKER_SYMBOL"])
        if key not in closing or arrived >= closing[key]:
            closing[key] = arrived + MINUTE
        windows.setdefault((key, closing[key]), []).append(record)
    return windows


def tick(arrived: str, event: str, ticker: str, price: float) -> Arrival:
    record = {"EVENT_TIME": at(event).isoformat(), "TICKER_SYMBOL": ticker, "PRICE": price}
    return (f"2026-01-01T{arrived}Z", record)


def test_stagger_windows_open_per_key(run_app: RunApp) -> None:
    arrivals = [
        # the guide's input: AMZN at 11:00:20, 11:00:30, 11:01:05, 11:01:15
        tick("11:00:20", "11:00:10", "AMZN", 10.0),
        tick("11:00:30", "11:00:20", "AMZN", 11.0),
        # a second ticker's window opens later than AMZN's, and closes later
        tick("11:00:45", "11:00:40", "INTC", 20.0),
        tick("11:01:05", "11:00:55", "AMZN", 12.0),
        tick("11:01:15", "11:01:05", "AMZN", 13.0),
        # AMZN's 11:00 window closed at 11:01:20: this row opens its next one
        tick("11:01:20", "11:00:59", "AMZN", 14.0),
        tick("11:01:30", "11:00:50", "INTC", 21.0),  # in INTC's window (11:00:45 to 11:01:45)
        tick("11:01:50", "11:00:58", "INTC", 22.0),  # after it: INTC's next window
    ]
    out = run_app("stagger_tickers", TICKS, arrivals)
    expected = {
        (key, closed): (
            len(rows),
            sum(r["PRICE"] for r in rows),
            min(r["PRICE"] for r in rows),
            max(r["PRICE"] for r in rows),
            sum(r["PRICE"] for r in rows) / len(rows),
        )
        for (key, closed), rows in stagger(arrivals).items()
    }
    got = {
        (
            (dt.datetime.fromisoformat(r["EVENT_TIME"]), r["TICKER_SYMBOL"]),
            dt.datetime.fromisoformat(r["CLOSED"]),
        ): (r["TICKER_COUNT"], r["TOTAL_PRICE"], r["MIN_PRICE"], r["MAX_PRICE"], r["AVG_PRICE"])
        for r in out
    }
    assert got == expected and len(out) == len(expected) == 5
    # the guide's documented rows: (11:00, AMZN, 3) at 11:01:20 and (11:01, AMZN, 1) at 11:02:15
    assert got[((at("11:00:00"), "AMZN"), at("11:01:20"))][0] == 3
    assert got[((at("11:01:00"), "AMZN"), at("11:02:15"))][0] == 1
