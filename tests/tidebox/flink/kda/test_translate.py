"""Each translation rule of a KDA SQL application, by the Flink SQL it emits (no Flink run)."""

from __future__ import annotations

import pytest

from tidebox.core.errors import KdaSqlError
from tidebox.flink.kda.application import parse_application
from tidebox.flink.kda.query import interval_sql
from tidebox.flink.kda.tokens import tokenize
from tidebox.flink.kda.translate import translate_application

TICKS = {"TICKER_SYMBOL": "STRING", "PRICE": "DOUBLE", "EVENT_TIME": "TIMESTAMP(3)"}


def flink(text: str, columns: dict[str, str] = TICKS) -> str:
    return translate_application(parse_application(text, "app.sql"), columns).text


def fails(text: str) -> str:
    with pytest.raises(KdaSqlError) as info:
        flink(text)
    return str(info.value)


def test_tokens_keep_their_place_and_quoted_names_their_case() -> None:
    tokens = tokenize('SELECT STREAM "mixedCase", x -- note\n  FROM /* c */ s', "a.sql")
    assert [(t.kind, t.text, t.line, t.column) for t in tokens][2:] == [
        ("quoted", "mixedCase", 1, 15), ("symbol", ",", 1, 26), ("word", "x", 1, 28),
        ("word", "FROM", 2, 3), ("word", "s", 2, 16),
    ]  # fmt: skip
    with pytest.raises(KdaSqlError, match=r"a\.sql:2:5: a string is never closed"):
        tokenize("x\nabc 'open", "a.sql")


def test_a_filter_pump_is_an_insert_into_the_output_stream() -> None:
    assert flink(
        'CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM"'
        " (ticker_symbol VARCHAR(4), price DOUBLE);"
        'CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"'
        ' SELECT STREAM ticker_symbol, price FROM "SOURCE_SQL_STREAM_001" WHERE price > 10;'
    ) == (
        "INSERT INTO `destination_sql_stream` (`TICKER_SYMBOL`, `PRICE`)\n"
        "SELECT CAST(`TICKER_SYMBOL` AS VARCHAR(4)), CAST(`PRICE` AS DOUBLE)\n"
        "FROM `SOURCE_SQL_STREAM_001`\nWHERE `PRICE` > 10;\n"
    )


def test_step_on_rowtime_is_a_tumbling_window() -> None:
    sql = flink(
        'CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (ticker_symbol VARCHAR(4),'
        " window_start TIMESTAMP, n BIGINT, ended TIMESTAMP);"
        'CREATE OR REPLACE PUMP "P" AS INSERT INTO "DESTINATION_SQL_STREAM"'
        " SELECT STREAM ticker_symbol,"
        " STEP(\"SOURCE_SQL_STREAM_001\".ROWTIME BY INTERVAL '60' SECOND),"
        ' COUNT(*), ROWTIME FROM "SOURCE_SQL_STREAM_001"'
        " GROUP BY ticker_symbol, STEP(\"SOURCE_SQL_STREAM_001\".ROWTIME BY INTERVAL '60' SECOND);"
    )
    assert (
        "SELECT CAST(`TICKER_SYMBOL` AS VARCHAR(4)), CAST(window_start AS TIMESTAMP(3)),"
        " CAST(COUNT(*) AS BIGINT), CAST(window_end AS TIMESTAMP(3))\n"
    ) in sql
    assert (
        "FROM TABLE(TUMBLE(TABLE `SOURCE_SQL_STREAM_001`, DESCRIPTOR(`ROWTIME`),"
        " INTERVAL '1' MINUTE(2))) AS `SOURCE_SQL_STREAM_001`\n"
        "GROUP BY `TICKER_SYMBOL`, window_start, window_end, window_time;"
    ) in sql


def test_floor_of_rowtime_is_a_tumbling_window_too() -> None:
    sql = flink(
        'CREATE STREAM "OUT" (n BIGINT); CREATE PUMP "P" AS INSERT INTO "OUT"'
        ' SELECT STREAM COUNT(*) FROM "SOURCE_SQL_STREAM_001" s'
        " GROUP BY FLOOR(s.ROWTIME TO HOUR)"
    )
    assert "DESCRIPTOR(`ROWTIME`), INTERVAL '1' HOUR(2))) AS `s`" in sql


def test_step_on_another_timestamp_rounds_down_since_the_epoch() -> None:
    sql = flink(
        'CREATE STREAM "OUT" (t TIMESTAMP, n BIGINT); CREATE PUMP "P" AS INSERT INTO "OUT"'
        " SELECT STREAM STEP(event_time BY INTERVAL '90' SECOND), COUNT(*)"
        ' FROM "SOURCE_SQL_STREAM_001"'
        " GROUP BY STEP(event_time BY INTERVAL '90' SECOND), STEP(ROWTIME BY INTERVAL '1' MINUTE)"
    )
    rounded = (
        "TIMESTAMPADD(SECOND, (TIMESTAMPDIFF(SECOND, TIMESTAMP '1970-01-01 00:00:00',"
        " CAST(`EVENT_TIME` AS TIMESTAMP(3))) / 90) * 90, TIMESTAMP '1970-01-01 00:00:00')"
    )
    assert f"SELECT CAST({rounded} AS TIMESTAMP(3)), CAST(COUNT(*) AS BIGINT)" in sql
    assert f"GROUP BY {rounded}, window_start, window_end, window_time" in sql


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(60, "INTERVAL '1' MINUTE(2)"), (90, "INTERVAL '90' SECOND(2)"),
     (7200, "INTERVAL '2' HOUR(2)"), (86400 * 400, "INTERVAL '400' DAY(3)")],
)  # fmt: skip
def test_intervals_fit_flinks_field_precision(seconds: int, expected: str) -> None:
    assert interval_sql(seconds) == expected


def test_an_intermediate_stream_is_a_view_with_its_declared_columns() -> None:
    sql = flink(
        'CREATE STREAM "TEMP" (sym VARCHAR(4), p DOUBLE);'
        'CREATE STREAM "DESTINATION_SQL_STREAM" (sym VARCHAR(4), p DOUBLE);'
        'CREATE PUMP "A" AS INSERT INTO "TEMP" SELECT STREAM ticker_symbol, price'
        ' FROM "SOURCE_SQL_STREAM_001";'
        'CREATE PUMP "B" AS INSERT INTO "TEMP" SELECT STREAM ticker_symbol, -price'
        ' FROM "SOURCE_SQL_STREAM_001";'
        'CREATE PUMP "C" AS INSERT INTO "DESTINATION_SQL_STREAM" SELECT STREAM * FROM "TEMP"'
    )
    # the view carries each row's ROWTIME; SELECT * leaves it out, as KDA's does
    assert sql.startswith(
        "CREATE TEMPORARY VIEW `TEMP` (`SYM`, `P`, `ROWTIME`) AS\n"
        "(SELECT CAST(`TICKER_SYMBOL` AS VARCHAR(4)), CAST(`PRICE` AS DOUBLE), `ROWTIME`\n"
        "FROM `SOURCE_SQL_STREAM_001`)\nUNION ALL\n"
    )
    assert (
        "INSERT INTO `destination_sql_stream` (`SYM`, `P`)\n"
        "SELECT CAST(`SYM` AS VARCHAR(4)), CAST(`P` AS DOUBLE)\nFROM `TEMP`;"
    ) in sql


def test_a_windowed_intermediate_stream_carries_the_windows_time() -> None:
    sql = flink(
        'CREATE STREAM "PER_MINUTE" (n BIGINT); CREATE STREAM "OUT" (n BIGINT);'
        'CREATE PUMP "A" AS INSERT INTO "PER_MINUTE" SELECT STREAM COUNT(*)'
        " FROM \"SOURCE_SQL_STREAM_001\" GROUP BY STEP(ROWTIME BY INTERVAL '1' MINUTE);"
        'CREATE PUMP "B" AS INSERT INTO "OUT" SELECT STREAM * FROM "PER_MINUTE"'
    )
    assert "SELECT CAST(COUNT(*) AS BIGINT), window_time AS `ROWTIME`\n" in sql


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("CREATE TABLE t (a INT); CREATE PUMP p AS INSERT INTO t SELECT STREAM 1 FROM s",
         "app.sql:1:8: CREATE TABLE is not translated"),
        ('CREATE STREAM "O" (a INT);\nCREATE PUMP p AS INSERT INTO "X" SELECT STREAM a FROM s',
         'app.sql:2:13: pump "P" inserts into "X", which no CREATE STREAM declares'),
        ('CREATE STREAM "O" (a INT)', "app.sql:1:1: the application has no CREATE PUMP"),
        ('CREATE STREAM "O" (a INT); CREATE PUMP p AS INSERT INTO "O" VALUES (1)',
         "app.sql:1:61: a pump inserts the rows of a SELECT STREAM query"),
        ('CREATE STREAM "O" (a INT); CREATE PUMP p AS INSERT INTO "O" SELECT STREAM a FROM s\n'
         "  ORDER BY a",
         "app.sql:2:3: ORDER BY on a stream starts with an ascending time-based expression"),
        ('CREATE STREAM "O" (a INT); CREATE PUMP p AS INSERT INTO "O" SELECT STREAM a FROM s'
         " GROUP BY STEP(ROWTIME BY 5)",
         "STEP takes (time BY INTERVAL 'n' SECOND|MINUTE|HOUR|DAY)"),
    ],
)  # fmt: skip
def test_what_is_not_translated_is_named_with_its_place(text: str, where: str) -> None:
    assert where in fails(text)


def test_a_quoted_rowtime_is_the_same_window() -> None:
    sql = flink(
        'CREATE STREAM "OUT" (t TIMESTAMP, n BIGINT); CREATE PUMP "P" AS INSERT INTO "OUT"'
        ' SELECT STREAM STEP("SOURCE_SQL_STREAM_001"."ROWTIME" BY INTERVAL \'1\' MINUTE), COUNT(*)'
        " FROM \"SOURCE_SQL_STREAM_001\" GROUP BY STEP(ROWTIME BY INTERVAL '1' MINUTE)"
    )
    assert "SELECT CAST(window_start AS TIMESTAMP(3)), CAST(COUNT(*) AS BIGINT)" in sql


def test_floor_of_rowtimes_interval_since_the_epoch_is_a_tumbling_window() -> None:
    # AWS's clickstream lab: one value per 10 s since the epoch, so a 10 s window
    sql = flink(
        'CREATE STREAM "CLICKSTREAM" ("CLICKCOUNT" BIGINT); CREATE PUMP "P" AS'
        ' INSERT INTO "CLICKSTREAM" ("CLICKCOUNT") SELECT STREAM COUNT(*)'
        ' FROM "SOURCE_SQL_STREAM_001" WHERE "browseraction" = \'Click\''
        " GROUP BY FLOOR((\"SOURCE_SQL_STREAM_001\".ROWTIME - TIMESTAMP '1970-01-01 00:00:00')"
        " SECOND / 10 TO SECOND)"
    )
    assert sql == (
        "INSERT INTO `clickstream` (`CLICKCOUNT`)\nSELECT CAST(COUNT(*) AS BIGINT)\n"
        "FROM TABLE(TUMBLE(TABLE `SOURCE_SQL_STREAM_001`, DESCRIPTOR(`ROWTIME`),"
        " INTERVAL '10' SECOND(2))) AS `SOURCE_SQL_STREAM_001`\n"
        "WHERE `browseraction` = 'Click'\nGROUP BY window_start, window_end, window_time;\n"
    )
    minutes = flink(
        'CREATE STREAM "O" (n BIGINT); CREATE PUMP "P" AS INSERT INTO "O" SELECT STREAM COUNT(*)'
        ' FROM "SOURCE_SQL_STREAM_001" s'
        " GROUP BY FLOOR((s.ROWTIME - TIMESTAMP '1970-01-01 00:00:00') MINUTE TO MINUTE)"
    )
    assert "INTERVAL '1' MINUTE(2))) AS `s`" in minutes
    for wrong in ("SECOND / 10 TO MINUTE", "SECOND / x TO SECOND", "SECOND"):
        with pytest.raises(KdaSqlError, match=r"app\.sql:1:127: .*FLOOR\(\(ROWTIME"):
            flink(
                'CREATE STREAM "O" (n BIGINT); CREATE PUMP "P" AS INSERT INTO "O" SELECT STREAM'
                ' COUNT(*) FROM "SOURCE_SQL_STREAM_001" GROUP BY'
                f" FLOOR((ROWTIME - TIMESTAMP '1970-01-01 00:00:00') {wrong})"
            )


def test_the_floor_that_groups_is_the_windows_start_in_the_select_list() -> None:
    sql = flink(
        'CREATE STREAM "O" (m TIMESTAMP, n BIGINT); CREATE PUMP "P" AS INSERT INTO "O"'
        " SELECT STREAM FLOOR(s.ROWTIME TO MINUTE) AS m, COUNT(*) AS n"
        ' FROM "SOURCE_SQL_STREAM_001" AS s GROUP BY FLOOR(s.ROWTIME TO MINUTE)'
    )
    assert "SELECT CAST(window_start AS TIMESTAMP(3)) AS m, CAST(COUNT(*) AS BIGINT) AS n\n" in sql


def test_select_star_from_a_subquery_is_its_named_columns_without_rowtime() -> None:
    sql = flink(
        'CREATE STREAM "OUT" (t VARCHAR(4), p DOUBLE); CREATE PUMP "P" AS INSERT INTO "OUT"'
        " SELECT STREAM * FROM (SELECT STREAM s.ticker_symbol, price * 2 AS doubled"
        ' FROM "SOURCE_SQL_STREAM_001" AS s WHERE price > 1)'
    )
    assert sql.startswith(
        "INSERT INTO `out` (`T`, `P`)\n"
        "SELECT CAST(`TICKER_SYMBOL` AS VARCHAR(4)), CAST(`doubled` AS DOUBLE)\n"
        "FROM (SELECT s.`TICKER_SYMBOL`, `PRICE` * 2 AS doubled, `ROWTIME`\n"
    )
    assert "needs a name for each of its columns" in fails(
        'CREATE STREAM "OUT" (p DOUBLE); CREATE PUMP "P" AS INSERT INTO "OUT"'
        ' SELECT STREAM * FROM (SELECT STREAM price * 2 FROM "SOURCE_SQL_STREAM_001")'
    )
