"""KDA SQL's scalar functions, types and FLOOR-interval window on Flink and Kafka, each output
checked against what KDA documents, computed here in plain Python."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

import pytest

from tests.tidebox.flink.kda.conftest import RunApp, epoch_ms

pytestmark = [pytest.mark.integration, pytest.mark.flink]

TICKS = {
    "TICKER": "STRING", "EVENT_TIME": "TIMESTAMP(3)", "REFERRER": "STRING",
    "DAY_TEXT": "STRING", "MS": "BIGINT", "LABEL": "STRING", "PRICE": "DOUBLE",
}  # fmt: skip


def _time(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


def _ms(moment: dt.datetime) -> int:
    return round(moment.replace(tzinfo=dt.UTC).timestamp() * 1000)


def _expected(arrival: str, row: dict[str, Any]) -> dict[str, Any]:
    """What KDA's reference says each column of string_datetime.kda.sql holds."""
    ticker, label, price, ref = row["TICKER"], row["LABEL"], row["PRICE"], row["REFERRER"]
    event = _time(row["EVENT_TIME"])
    arrived = dt.datetime.fromisoformat(arrival.replace("Z", "+00:00"))
    length = (ref.find(".com") + 1) - (ref.find("www.") + 1) - 4  # POSITION is 1-based
    try:
        parsed: dt.datetime | None = dt.datetime.strptime(row["DAY_TEXT"], "%d/%m/%Y %H:%M")
    except ValueError:
        parsed = None  # KDA: "no result is returned"
    second = event.second + event.microsecond / 1e6 if event else None
    lowered = label.lower()
    nth = [m.start() for m in re.finditer("w", ref)][1]
    return {
        "TICKER": ticker[:4],  # VARCHAR(4)
        "EVENT_TIME": event,
        "FIVE_MINUTES_BEFORE": event - dt.timedelta(minutes=5) if event else None,
        "EVENT_UNIX_TIMESTAMP": _ms(event) if event else None,  # milliseconds
        "EVENT_TIMESTAMP_AS_CHAR": event.strftime("%Y-%m-%d %I:%M:%S") if event else "null",
        "EVENT_SECOND": int(second) if second is not None else None,
        "EXACT_SECOND": round(second, 3) if second is not None else None,
        "referrer": ref[11 : 11 + length][:32],
        "https_referrer": re.sub("http://", "https://", ref),
        "HEAD": ticker[0:2],  # SUBSTRING(t FROM 0 FOR 3): positions 0, 1, 2 of which 1, 2 exist
        "PARSED": parsed,
        "FROM_MS": dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=row["MS"]),
        "AGE_MS": _ms(event) - row["MS"] if event else None,  # end less start
        "TAG": f"{label.strip(' ').upper()}-{len(label)}"[:20],
        "IS_TECH": re.fullmatch(".*tech.*", label) is not None,
        "MATH": abs(price) + math.fmod(int(price), 3) + 4 + math.floor(price) + math.ceil(price),
        "LOGS": 3.0,
        "HAS_ROW_TIME": True,
        "LABEL_OR_NONE": "none" if lowered == " tech " else lowered[:8],
        "OVERLAID": (ticker[:1] + "x" + ticker[2:])[:8],
        "ARRIVAL_CHAR": arrived.strftime("%H:%M:%S.") + f"{arrived.microsecond // 1000:03d}",
        "ARRIVAL_MS": epoch_ms(arrival),
        "TITLE": "".join(  # space-delimited words
            c.upper() if i == 0 or label[i - 1] == " " else c.lower() for i, c in enumerate(label)
        ),
        "SECOND_W": ref[:nth] + "W" + ref[nth + 1 :],  # the second match only
        "DOT_ORG": ref[:7] + re.sub(r"(\w+)\.com", r"\1.org", ref[7:]),  # from position 8
    }


def _read(row: dict[str, Any]) -> dict[str, Any]:
    times = ("EVENT_TIME", "FIVE_MINUTES_BEFORE", "PARSED", "FROM_MS")
    return {k: _time(v) if k in times else v for k, v in row.items()}


def test_string_and_datetime_functions(run_app: RunApp) -> None:
    arrivals = [
        ("2026-01-01T00:00:05Z", {
            "TICKER": "AAPL", "EVENT_TIME": "2018-05-09T12:50:41.337",
            "REFERRER": "http://www.amazon.com", "DAY_TEXT": "09/05/2018 13:05",
            "MS": 1525873000000, "LABEL": " tech ", "PRICE": 10.5}),
        ("2026-01-01T00:00:06.250Z", {
            "TICKER": "GOOGL", "EVENT_TIME": "2018-05-09T15:07:02.005",
            "REFERRER": "http://www.example.com", "DAY_TEXT": "31/12/2019 23:59",
            "MS": 1525870000000, "LABEL": "o'neil-SMITH", "PRICE": -3.25}),
        ("2026-01-01T00:00:07Z", {
            "TICKER": "X", "EVENT_TIME": None, "REFERRER": "http://www.aws.com",
            "DAY_TEXT": "99/99/2019 10:00", "MS": 0, "LABEL": "biotech", "PRICE": 0.0}),
    ]  # fmt: skip
    out = [_read(r) for r in run_app("string_datetime", TICKS, arrivals)]
    expected = [_expected(at, row) for at, row in arrivals]
    assert len(out) == len(expected)
    for got, want in zip(out, expected, strict=True):
        for name, value in want.items():
            if isinstance(value, float):
                assert got[name] == pytest.approx(value), name
            else:
                assert got[name] == value, name


def test_floor_of_rowtimes_interval_since_the_epoch_is_a_10_second_window(
    run_app: RunApp,
) -> None:
    arrivals = [
        ("2026-01-01T00:00:01Z", {"browseraction": "Click"}),
        ("2026-01-01T00:00:03Z", {"browseraction": "Impression"}),
        ("2026-01-01T00:00:09.999Z", {"browseraction": "Click"}),
        ("2026-01-01T00:00:10Z", {"browseraction": "Click"}),
        ("2026-01-01T00:00:15Z", {"browseraction": "Click"}),
        ("2026-01-01T00:00:25Z", {"browseraction": "Click"}),
        ("2026-01-01T00:00:31Z", {"browseraction": "Impression"}),
    ]
    out = run_app("clickstream", {"browseraction": "STRING"}, arrivals)
    # KDA: FLOOR((ROWTIME - epoch) SECOND / 10 TO SECOND) is one value per 10 s since the
    # epoch; one count of clicks per such window that has any, in time order
    windows: dict[int, int] = {}
    for at, record in arrivals:
        if record["browseraction"] == "Click":
            window = epoch_ms(at) // 10_000
            windows[window] = windows.get(window, 0) + 1
    assert [r["CLICKCOUNT"] for r in out] == [windows[w] for w in sorted(windows)] == [2, 2, 1]


RECORDS = {
    "RecordType": "STRING", "Oid": "INT", "Otype": "STRING", "Oticker": "STRING",
    "Oprice": "DOUBLE", "Tid": "INT", "Toid": "INT", "Tprice": "DOUBLE", "Tticker": "STRING",
}  # fmt: skip


def test_two_record_types_split_by_pumps_and_trades_counted_per_minute(run_app: RunApp) -> None:
    def order(oid: int, ticker: str) -> dict[str, Any]:
        return {"RecordType": "Order", "Oprice": 9047, "Otype": "Sell", "Oid": oid,
                "Oticker": ticker}  # fmt: skip

    def trade(tid: int, ticker: str) -> dict[str, Any]:
        return {"RecordType": "Trade", "Tid": tid, "Toid": 3812, "Tprice": 2089,
                "Tticker": ticker}  # fmt: skip

    arrivals = [
        ("2026-01-01T00:00:05Z", order(3811, "AAAA")),
        ("2026-01-01T00:00:10Z", trade(1, "BBBB")),
        ("2026-01-01T00:00:20Z", trade(2, "BBBB")),
        ("2026-01-01T00:00:40Z", trade(3, "AAAA")),
        ("2026-01-01T00:01:05Z", trade(4, "BBBB")),
        ("2026-01-01T00:01:10Z", trade(5, "AAAA")),
        ("2026-01-01T00:01:30Z", order(3812, "CCCC")),
        ("2026-01-01T00:01:45Z", trade(6, "CCCCC")),
        ("2026-01-01T00:01:50Z", trade(7, "AAAA")),
        ("2026-01-01T00:01:59.999Z", trade(8, "AAAA")),
    ]
    out = run_app("two_record_types", RECORDS, arrivals)
    # KDA: only the Trade records reach Trade_Stream (ticker varchar(4) cuts "CCCCC"); one
    # count per ticker and minute of ROWTIME, a minute's rows before the next minute's
    minutes: dict[int, dict[str, int]] = {}
    for at, record in arrivals:
        if record["RecordType"] == "Trade":
            counts = minutes.setdefault(epoch_ms(at) // 60_000, {})
            ticker = record["Tticker"][:4]
            counts[ticker] = counts.get(ticker, 0) + 1
    expected = [{(t, n) for t, n in minutes[m].items()} for m in sorted(minutes)]
    got = [(r["TICKER"], r["TRADE_COUNT"]) for r in out]
    assert [set(got[:2]), set(got[2:])] == expected
    assert expected == [{("BBBB", 2), ("AAAA", 1)}, {("BBBB", 1), ("AAAA", 3), ("CCCC", 1)}]
