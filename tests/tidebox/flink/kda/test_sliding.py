"""KDA sliding windows, LAG and subqueries, by the Flink SQL they become (no Flink run)."""

from __future__ import annotations

import pytest

from tests.tidebox.flink.kda.support import without_retyping
from tidebox.core.errors import KdaSqlError
from tidebox.flink.kda.application import parse_application
from tidebox.flink.kda.translate import translate_application

TICKS = {"TICKER_SYMBOL": "STRING", "PRICE": "DOUBLE", "CHANGE": "DOUBLE"}
OUT = (
    'CREATE STREAM "OUT" (a VARCHAR(4), b DOUBLE, c DOUBLE);\n'
    'CREATE PUMP "P" AS INSERT INTO "OUT"\n'
)
RANGE_1_MINUTE = (
    "PARTITION BY `TICKER_SYMBOL` ORDER BY `ROWTIME`"
    " RANGE BETWEEN INTERVAL '1' MINUTE(2) PRECEDING AND CURRENT ROW"
)


def flink(text: str) -> str:
    """The rule's own Flink SQL, without the casts to the declared types (test_types')."""
    return without_retyping(translate_application(parse_application(text, "app.sql"), TICKS).text)


def query(select: str) -> str:
    """The Flink SELECT of one pump into OUT (a, b, c)."""
    return flink(OUT + select).split("\n", 1)[1].rstrip(";\n")


def fails(select: str) -> str:
    with pytest.raises(KdaSqlError) as info:
        flink(OUT + select)
    return str(info.value)


def test_a_named_range_window_is_an_over_window_ordered_by_rowtime() -> None:
    # the guide's sliding example 1: one output row per input row
    assert query(
        "SELECT STREAM ticker_symbol, MIN(Price) OVER W1 AS b, AVG(Price) OVER W1 AS c\n"
        'FROM "SOURCE_SQL_STREAM_001"\n'
        "WINDOW W1 AS (PARTITION BY ticker_symbol RANGE INTERVAL '1' MINUTE PRECEDING)"
    ) == (
        f"SELECT `TICKER_SYMBOL`, MIN(`PRICE`) OVER ({RANGE_1_MINUTE}) AS `B`,"
        f" AVG(`PRICE`) OVER ({RANGE_1_MINUTE}) AS `C`\n"
        "FROM `SOURCE_SQL_STREAM_001`"
    )


def test_inline_windows_rows_current_row_and_no_partition() -> None:
    sql = query(
        "SELECT STREAM ticker_symbol,"
        " SUM(price) OVER (PARTITION BY ticker_symbol RANGE INTERVAL '2' HOUR PRECEDING),"
        " COUNT(*) OVER (PARTITION BY ticker_symbol RANGE INTERVAL '2' HOUR PRECEDING)"
        ' FROM "SOURCE_SQL_STREAM_001" WHERE price > 1'
    )
    assert sql == (
        "SELECT `TICKER_SYMBOL`, SUM(`PRICE`) OVER (PARTITION BY `TICKER_SYMBOL` ORDER BY"
        " `ROWTIME` RANGE BETWEEN INTERVAL '2' HOUR(2) PRECEDING AND CURRENT ROW), COUNT(*)"
        " OVER (PARTITION BY `TICKER_SYMBOL` ORDER BY `ROWTIME` RANGE BETWEEN INTERVAL '2'"
        " HOUR(2) PRECEDING AND CURRENT ROW)\nFROM `SOURCE_SQL_STREAM_001`\nWHERE `PRICE` > 1"
    )
    assert "COUNT(*) OVER (ORDER BY `ROWTIME` RANGE BETWEEN INTERVAL '0' SECOND PRECEDING" in (
        query('SELECT STREAM COUNT(*) OVER (RANGE CURRENT ROW) FROM "SOURCE_SQL_STREAM_001"')
    )  # all rows of the current ROWTIME
    assert "OVER (ORDER BY `ROWTIME` ROWS BETWEEN 0 PRECEDING AND CURRENT ROW)" in query(
        'SELECT STREAM COUNT(*) OVER (ROWS CURRENT ROW) FROM "SOURCE_SQL_STREAM_001"'
    )
    assert "ORDER BY `ROWTIME` RANGE BETWEEN INTERVAL '90' SECOND(2) PRECEDING" in query(
        "SELECT STREAM MAX(price) OVER (RANGE INTERVAL '90' SECOND PRECEDING)"
        ' FROM "SOURCE_SQL_STREAM_001"'
    )


def test_rows_n_preceding_keeps_the_current_row_and_several_windows_nest() -> None:
    # the guide's sliding example 3: Flink computes one window per SELECT
    assert query(
        "SELECT STREAM ticker_symbol, avg(price) over last2rows, avg(price) over last10rows\n"
        "FROM SOURCE_SQL_STREAM_001\n"
        "WINDOW last2rows AS (PARTITION BY ticker_symbol ROWS 2 PRECEDING),\n"
        "    last10rows AS (PARTITION BY ticker_symbol ROWS 10 PRECEDING)"
    ) == (
        "SELECT `TICKER_SYMBOL`, `$w0`, `$w1`\n"
        "FROM (SELECT *, avg(`PRICE`) OVER (PARTITION BY `TICKER_SYMBOL` ORDER BY `ROWTIME`"
        " ROWS BETWEEN 10 PRECEDING AND CURRENT ROW) AS `$w1`\n"
        "FROM (SELECT *, avg(`PRICE`) OVER (PARTITION BY `TICKER_SYMBOL` ORDER BY `ROWTIME`"
        " ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS `$w0`\n"
        "FROM `SOURCE_SQL_STREAM_001`) AS `SOURCE_SQL_STREAM_001`) AS `SOURCE_SQL_STREAM_001`"
    )


def test_nested_windows_keep_the_where_innermost_and_the_alias() -> None:
    sql = query(
        "SELECT STREAM s.ticker_symbol, SUM(s.price) OVER (ROWS 3 PRECEDING),"
        ' MIN(s.price) OVER (RANGE CURRENT ROW) FROM "SOURCE_SQL_STREAM_001" AS s'
        " WHERE s.price > 0"
    )
    assert sql.startswith("SELECT s.`TICKER_SYMBOL`, `$w0`, `$w1`\nFROM (SELECT *, MIN(s.")
    assert sql.endswith("FROM `SOURCE_SQL_STREAM_001` AS s\nWHERE s.`PRICE` > 0) AS s) AS s")


def test_lag_reads_the_row_n_back_when_it_is_inside_the_window() -> None:
    sql = query(
        'SELECT STREAM ticker_symbol, price, LAG(price) OVER W FROM "SOURCE_SQL_STREAM_001"'
        " WINDOW W AS (PARTITION BY ticker_symbol RANGE INTERVAL '1' MINUTE PRECEDING)"
    )
    rows = (
        "PARTITION BY `TICKER_SYMBOL` ORDER BY `ROWTIME` ROWS BETWEEN 1 PRECEDING AND CURRENT ROW"
    )
    assert sql == (
        f"SELECT `TICKER_SYMBOL`, `PRICE`, CASE WHEN COUNT(*) OVER ({rows}) = 2"
        f" AND FIRST_VALUE(`ROWTIME`) OVER ({rows}) >= `ROWTIME` - INTERVAL '1' MINUTE(2)"
        f" THEN FIRST_VALUE(ARRAY[(`PRICE`)]) OVER ({rows})[1] ELSE NULL END\n"
        "FROM `SOURCE_SQL_STREAM_001`"
    )
    with_default = query(
        "SELECT STREAM ticker_symbol, LAG(price, 3, 0.0) RESPECT NULLS OVER"
        ' (PARTITION BY ticker_symbol ROWS 2 PRECEDING) FROM "SOURCE_SQL_STREAM_001"'
    )  # 3 rows back is outside a 2-rows-back window: always the default
    assert "CASE WHEN COUNT(*) OVER (" in with_default
    assert ") = 4 AND FALSE THEN FIRST_VALUE(ARRAY[(`PRICE`)]) OVER (" in with_default
    assert "[1] ELSE 0.0 END" in with_default


def test_a_subquery_in_from_is_translated_with_its_rowtime() -> None:
    # the guide's throttled alerts: the window is in the subquery, the filter outside
    sql = flink(
        'CREATE OR REPLACE STREAM "CHANGE_STREAM" (ticker_symbol VARCHAR(4), change DOUBLE);\n'
        'CREATE OR REPLACE PUMP "change_pump" AS INSERT INTO "CHANGE_STREAM"\n'
        '  SELECT STREAM ticker_symbol, change FROM "SOURCE_SQL_STREAM_001" WHERE change > 1;\n'
        "CREATE OR REPLACE STREAM TRIGGER_COUNT_STREAM (\n"
        "   ticker_symbol VARCHAR(4), change REAL, trigger_count INTEGER);\n"
        "CREATE OR REPLACE PUMP trigger_count_pump AS INSERT INTO TRIGGER_COUNT_STREAM\n"
        "SELECT STREAM ticker_symbol, change, trigger_count\n"
        "FROM (\n"
        "    SELECT STREAM ticker_symbol, change, COUNT(*) OVER W1 as trigger_count\n"
        '    FROM "CHANGE_STREAM"\n'
        "    WINDOW W1 AS (PARTITION BY ticker_symbol RANGE INTERVAL '1' MINUTE PRECEDING)\n"
        ")\n"
        "WHERE trigger_count >= 1;"
    )
    assert sql.endswith(
        "INSERT INTO `trigger_count_stream` (`TICKER_SYMBOL`, `CHANGE`, `TRIGGER_COUNT`)\n"
        "SELECT CAST(`TICKER_SYMBOL` AS VARCHAR(4)), CAST(`CHANGE` AS FLOAT),"
        " CAST(`TRIGGER_COUNT` AS INT)\n"
        f"FROM (SELECT `TICKER_SYMBOL`, `CHANGE`, COUNT(*) OVER ({RANGE_1_MINUTE}) as"
        " `TRIGGER_COUNT`, `ROWTIME`\nFROM `CHANGE_STREAM`)\n"
        "WHERE `TRIGGER_COUNT` >= 1;\n"
    )
    plain = query(
        "SELECT STREAM t.ticker_symbol, t.price, 1 FROM (SELECT STREAM ticker_symbol, price"
        ' FROM "SOURCE_SQL_STREAM_001" WHERE price > 2) AS t'
    )
    assert plain.endswith(
        "\nFROM (SELECT `TICKER_SYMBOL`, `PRICE`, `ROWTIME`\n"
        "FROM `SOURCE_SQL_STREAM_001`\nWHERE `PRICE` > 2) AS t"
    )


def test_a_sliding_window_feeding_another_stream_carries_rowtime() -> None:
    sql = flink(
        'CREATE STREAM "MID" (a VARCHAR(4), n BIGINT); CREATE STREAM "OUT" (a VARCHAR(4));\n'
        'CREATE PUMP "P1" AS INSERT INTO "MID" SELECT STREAM ticker_symbol, COUNT(*) OVER'
        ' (ROWS 5 PRECEDING) FROM "SOURCE_SQL_STREAM_001";\n'
        'CREATE PUMP "P2" AS INSERT INTO "OUT" SELECT STREAM a FROM "MID";'
    )
    assert (
        "SELECT `TICKER_SYMBOL`, COUNT(*) OVER (ORDER BY `ROWTIME` ROWS BETWEEN 5 PRECEDING"
        " AND CURRENT ROW), `ROWTIME`\nFROM `SOURCE_SQL_STREAM_001`"
    ) in sql


@pytest.mark.parametrize(
    ("window", "place", "problem"),
    [
        ("(ROWS UNBOUNDED PRECEDING)", "5:19", "an UNBOUNDED window is not allowed in KDA"),
        ("(ROWS 2 FOLLOWING)", "5:21", "a FOLLOWING window is not allowed in KDA"),
        ("(ROWS BETWEEN 2 PRECEDING AND CURRENT ROW)", "5:19", "RANGE/ROWS BETWEEN is not KDA's"),
        ("(ORDER BY price ROWS 2 PRECEDING)", "5:14", "ORDER BY in a window is not KDA's"),
        ("(ROWS 0 PRECEDING)", "5:19", "0 PRECEDING is not allowed in KDA: write CURRENT ROW"),
        (
            "(RANGE INTERVAL '1' DAY PRECEDING)",
            "5:33",
            "a RANGE interval is in SECOND, MINUTE or HOUR, not DAY",
        ),
        ("(RANGE 5 PRECEDING)", "5:20", "RANGE takes INTERVAL 'n' SECOND|MINUTE|HOUR"),
        ("(PARTITION BY ticker_symbol)", "5:14", "a window needs RANGE INTERVAL"),
        ("()", "5:13", "a window needs RANGE INTERVAL"),
    ],
)
def test_windows_kda_does_not_allow_are_refused_with_their_place(
    window: str, place: str, problem: str
) -> None:
    message = fails(
        'SELECT STREAM SUM(price) OVER W\nFROM "SOURCE_SQL_STREAM_001"\nWINDOW W AS ' + window
    )
    assert message.startswith(f"app.sql:{place}: {problem}")


def test_other_refusals_name_the_construct_and_its_place() -> None:
    source = 'FROM "SOURCE_SQL_STREAM_001"'
    assert fails(f"SELECT STREAM SUM(price) OVER W2 {source} WINDOW W AS (ROWS 1 PRECEDING)") == (
        "app.sql:3:31: no window named W2 (WINDOW W2 AS (...))"
    )
    assert fails(f"SELECT STREAM LAG(price) IGNORE NULLS OVER (ROWS 1 PRECEDING) {source}") == (
        "app.sql:3:26: IGNORE NULLS with LAG is not translated"
    )
    assert fails(f"SELECT STREAM EXP_AVG(price) OVER (ROWS 1 PRECEDING) {source}").startswith(
        "app.sql:3:15: EXP_AVG(...) OVER is not translated (sliding windows take AVG, COUNT,"
        " MIN, MAX, SUM, FIRST_VALUE, LAST_VALUE, LAG)"
    )
    assert (
        fails(f"SELECT STREAM COUNT(*) OVER (ROWS 1 PRECEDING) {source} GROUP BY ticker_symbol")
        == "app.sql:3:77: GROUP together with a sliding window (OVER) is not translated"
    )
    assert (
        fails(f"SELECT STREAM COUNT(*) OVER (ROWS 1 PRECEDING) {source} ORDER BY ROWTIME")
        == "app.sql:3:77: ORDER together with a sliding window (OVER) is not translated"
    )
    assert (
        fails(
            "SELECT STREAM SUM(a.price) OVER (ROWS 1 PRECEDING)"
            f' {source} AS a JOIN "SOURCE_SQL_STREAM_001" AS b ON a.price = b.price'
        )
        == "app.sql:3:86: a sliding window (OVER) over a JOIN is not translated"
    )


def test_a_sliding_window_over_a_tumbling_windows_stream() -> None:
    # the guide's partial-results example: the tumbling view's ROWTIME (its window_time) is
    # the time attribute the sliding window orders by
    sql = flink(
        'CREATE STREAM "CALC" (TICKER VARCHAR(4), TRADETIME TIMESTAMP, TICKERCOUNT DOUBLE);\n'
        'CREATE STREAM "DEST" (TICKER VARCHAR(4), TRADETIME TIMESTAMP, TICKERCOUNT DOUBLE);\n'
        'CREATE PUMP "P1" AS INSERT INTO "CALC" SELECT STREAM "TICKER_SYMBOL",'
        ' STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL \'1\' MINUTE) as "TradeTime",'
        ' COUNT(*) AS "TickerCount" FROM "SOURCE_SQL_STREAM_001"'
        " GROUP BY STEP(\"SOURCE_SQL_STREAM_001\".ROWTIME BY INTERVAL '1' MINUTE), TICKER_SYMBOL;\n"
        'CREATE PUMP "P2" AS INSERT INTO "DEST" ("TICKER", "TRADETIME", "TICKERCOUNT")'
        ' SELECT STREAM "TICKER", "TRADETIME", SUM("TICKERCOUNT") OVER W1 AS "TICKERCOUNT"'
        ' FROM "CALC"'
        " WINDOW W1 AS (PARTITION BY \"TRADETIME\" RANGE INTERVAL '10' MINUTE PRECEDING);"
    )
    assert sql.endswith(
        "SELECT `TICKER`, `TRADETIME`, SUM(`TICKERCOUNT`) OVER (PARTITION BY `TRADETIME`"
        " ORDER BY `ROWTIME` RANGE BETWEEN INTERVAL '10' MINUTE(2) PRECEDING AND CURRENT ROW)"
        " AS `TICKERCOUNT`\nFROM `CALC`;\n"
    )


def test_first_and_last_value_respect_nulls_unless_told_to_ignore_them() -> None:
    # Flink's FIRST_VALUE/LAST_VALUE skip NULLs; a one-element array keeps them (KDA's default)
    sql = query(
        "SELECT STREAM FIRST_VALUE(price) OVER W, LAST_VALUE(price) RESPECT NULLS OVER W,"
        ' FIRST_VALUE(price) IGNORE NULLS OVER W FROM "SOURCE_SQL_STREAM_001"'
        " WINDOW W AS (ROWS 3 PRECEDING)"
    )
    window = "OVER (ORDER BY `ROWTIME` ROWS BETWEEN 3 PRECEDING AND CURRENT ROW)"
    assert sql == (
        f"SELECT FIRST_VALUE(ARRAY[(`PRICE`)]) {window}[1],"
        f" LAST_VALUE(ARRAY[(`PRICE`)]) {window}[1], FIRST_VALUE(`PRICE`) {window}\n"
        "FROM `SOURCE_SQL_STREAM_001`"
    )
