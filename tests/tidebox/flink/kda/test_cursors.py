"""KDA's table functions over cursors (RANDOM_CUT_FOREST, RANDOM_CUT_FOREST_WITH_EXPLANATION,
TOP_K_ITEMS_TUMBLING) and ORDER BY on a stream, by the Flink SQL they emit (no Flink run)."""

from __future__ import annotations

import pytest

from tidebox.core.errors import KdaSqlError
from tidebox.flink.kda.application import parse_application
from tidebox.flink.kda.translate import translate_application
from tidebox.flink.kinesis_calls import rewrite

HEART = {
    "heartRate": "INT",
    "rateType": "STRING",
    "ROWTIME": "TIMESTAMP_LTZ(3)",
    "APPROXIMATE_ARRIVAL_TIME": "TIMESTAMP(3)",
}
TICKS = {"TICKER": "STRING", "PRICE": "DOUBLE", "ROWTIME": "TIMESTAMP_LTZ(3)"}
OUT = 'CREATE STREAM "DESTINATION_SQL_STREAM" ("heartRate" INTEGER, "ANOMALY_SCORE" DOUBLE);'


def flink(text: str, columns: dict[str, str] = HEART) -> str:
    return translate_application(parse_application(text, "app.sql"), columns).text


def fails(text: str, columns: dict[str, str] = HEART) -> str:
    with pytest.raises(KdaSqlError) as info:
        flink(text, columns)
    return str(info.value)


def pump(select: str) -> str:
    return f'CREATE PUMP "P" AS INSERT INTO "DESTINATION_SQL_STREAM" {select};'


def test_the_forests_cursor_is_translated_with_its_stars_columns_and_rowtime() -> None:
    sql = flink(
        OUT
        + pump(
            'SELECT STREAM "heartRate", ANOMALY_SCORE FROM TABLE(RANDOM_CUT_FOREST('
            'CURSOR(SELECT STREAM * FROM "SOURCE_SQL_STREAM_001"), 50, 128, 1000, 1))'
        )
    )
    # KDA's * is the stream's columns without ROWTIME; ROWTIME comes last, as the time the
    # forest orders rows by (a timestamp is never scored)
    assert sql == (
        "INSERT INTO `destination_sql_stream` (`heartRate`, `ANOMALY_SCORE`)\n"
        "SELECT CAST(`heartRate` AS INT), CAST(`ANOMALY_SCORE` AS DOUBLE)\n"
        "FROM TABLE(RANDOM_CUT_FOREST(CURSOR(SELECT `heartRate`, `rateType`, `ROWTIME`\n"
        "FROM `SOURCE_SQL_STREAM_001`), 50, 128, 1000, 1));\n"
    )


def test_the_loader_rewrites_the_translated_cursor_into_the_forest_function() -> None:
    explained = (
        'CREATE STREAM "DESTINATION_SQL_STREAM" ("heartRate" INTEGER, "ANOMALY_SCORE" DOUBLE,'
        ' "ANOMALY_EXPLANATION" VARCHAR(512));'
    )
    statement = flink(
        explained
        + pump(
            "SELECT STREAM * FROM TABLE(RANDOM_CUT_FOREST_WITH_EXPLANATION("
            'CURSOR(SELECT STREAM "heartRate" FROM "SOURCE_SQL_STREAM_001"'
            " WHERE \"rateType\" = 'NORMAL'), 100, 256, 100000, 1, true))"
        )
    ).rstrip(";\n")
    views: list[str] = []

    def define(query: str) -> tuple[str, list[tuple[str, str]]]:
        views.append(query)
        return "__rcf_cursor_1", [("heartRate", "INT"), ("ROWTIME", "TIMESTAMP_LTZ(3) *ROWTIME*")]

    flink_sql = rewrite(statement, "app.sql", define)
    assert views == [
        "SELECT `heartRate`, `ROWTIME`\nFROM `SOURCE_SQL_STREAM_001`\nWHERE `rateType` = 'NORMAL'"
    ]
    # SELECT * is the cursor's columns and the function's, never ROWTIME
    assert flink_sql.startswith(
        "INSERT INTO `destination_sql_stream`"
        " (`heartRate`, `ANOMALY_SCORE`, `ANOMALY_EXPLANATION`)\n"
        "SELECT CAST(`heartRate` AS INT), CAST(`ANOMALY_SCORE` AS DOUBLE),"
        " CAST(`ANOMALY_EXPLANATION` AS VARCHAR(512))\n"
        "FROM (SELECT `heartRate`, `rowtime` AS `ROWTIME`, `ANOMALY_SCORE`, `ANOMALY_EXPLANATION`"
        " FROM RANDOM_CUT_FOREST_WITH_EXPLANATION(input => TABLE `__rcf_cursor_1`,"
        " on_time => DESCRIPTOR(`ROWTIME`), number_of_trees => 100, sub_sample_size => 256,"
        " time_decay => 100000, shingle_size => 1, with_directionality => TRUE,"
    )


def test_a_forest_over_an_intermediate_stream_carries_rowtime_on() -> None:
    sql = flink(
        'CREATE STREAM "RATES" ("heartRate" INTEGER);'
        'CREATE STREAM "SCORED" ("heartRate" INTEGER, "ANOMALY_SCORE" DOUBLE);'
        + OUT
        + 'CREATE PUMP "A" AS INSERT INTO "RATES" SELECT STREAM "heartRate"'
        ' FROM "SOURCE_SQL_STREAM_001";'
        'CREATE PUMP "B" AS INSERT INTO "SCORED" SELECT STREAM * FROM TABLE('
        'RANDOM_CUT_FOREST(CURSOR(SELECT STREAM * FROM "RATES")));'
        + pump('SELECT STREAM * FROM "SCORED"')
    )
    assert (
        "CREATE TEMPORARY VIEW `SCORED` (`heartRate`, `ANOMALY_SCORE`, `ROWTIME`) AS\n"
        "SELECT CAST(`heartRate` AS INT), CAST(`ANOMALY_SCORE` AS DOUBLE), `ROWTIME`\n"
        "FROM TABLE(RANDOM_CUT_FOREST(CURSOR(SELECT `heartRate`, `ROWTIME`\nFROM `RATES`)));"
    ) in sql


def test_top_k_items_tumbling_is_a_window_top_n() -> None:
    sql = flink(
        'CREATE STREAM DESTINATION_SQL_STREAM ("TICKER" VARCHAR(4), "MOST_FREQUENT_VALUES" BIGINT);'
        + pump(
            "SELECT STREAM * FROM TABLE(TOP_K_ITEMS_TUMBLING("
            'CURSOR(SELECT STREAM * FROM "SOURCE_SQL_STREAM_001" WHERE price > 1),'
            " 'ticker', 5, 60))"
        ),
        TICKS,
    )
    assert sql == (
        "INSERT INTO `destination_sql_stream` (`TICKER`, `MOST_FREQUENT_VALUES`)\n"
        "SELECT CAST(`TICKER` AS VARCHAR(4)), CAST(`MOST_FREQUENT_VALUES` AS BIGINT)\n"
        "FROM (SELECT `TICKER`, `MOST_FREQUENT_VALUES`, `ROWTIME`\n"
        "FROM (SELECT `TICKER`, `MOST_FREQUENT_VALUES`, window_time AS `ROWTIME`,"
        " ROW_NUMBER() OVER (PARTITION BY window_start, window_end"
        " ORDER BY `MOST_FREQUENT_VALUES` DESC) AS `$rank`\n"
        "FROM (SELECT `TICKER`, COUNT(*) AS `MOST_FREQUENT_VALUES`,"
        " window_start, window_end, window_time\n"
        "FROM TABLE(TUMBLE(TABLE `SOURCE_SQL_STREAM_001`, DESCRIPTOR(`ROWTIME`),"
        " INTERVAL '1' MINUTE(2))) AS `SOURCE_SQL_STREAM_001`\n"
        "WHERE `PRICE` > 1\n"
        "GROUP BY `TICKER`, window_start, window_end, window_time))\n"
        "WHERE `$rank` <= 5) AS `TOP_K_ITEMS_TUMBLING`;\n"
    )


def test_order_by_a_second_then_a_score_sorts_each_seconds_rows() -> None:
    sql = flink(
        'CREATE STREAM "TEMP_STREAM" ("heartRate" INTEGER, "ANOMALY_SCORE" DOUBLE);'
        + OUT
        + 'CREATE PUMP "A" AS INSERT INTO "TEMP_STREAM" SELECT STREAM "heartRate", ANOMALY_SCORE'
        ' FROM TABLE(RANDOM_CUT_FOREST(CURSOR(SELECT STREAM * FROM "SOURCE_SQL_STREAM_001")));'
        + pump(
            'SELECT STREAM * FROM "TEMP_STREAM" WHERE "heartRate" > 0'
            ' ORDER BY FLOOR("TEMP_STREAM".ROWTIME TO SECOND), ANOMALY_SCORE DESC'
        )
    )
    assert sql.endswith(
        "INSERT INTO `destination_sql_stream` (`heartRate`, `ANOMALY_SCORE`)\n"
        "SELECT CAST(`heartRate` AS INT), CAST(`ANOMALY_SCORE` AS DOUBLE)\n"
        "FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end"
        " ORDER BY `ANOMALY_SCORE` DESC) AS `$order`\n"
        "FROM TABLE(TUMBLE(TABLE `TEMP_STREAM`, DESCRIPTOR(`ROWTIME`), INTERVAL '1' SECOND(2)))"
        " AS `TEMP_STREAM`\nWHERE `heartRate` > 0) AS `TEMP_STREAM`\n"
        "WHERE `$order` <= 2147483647;\n"
    )


def test_order_by_into_an_intermediate_stream_carries_the_batchs_time() -> None:
    sql = flink(
        'CREATE STREAM "SORTED" ("heartRate" INTEGER);'
        + OUT
        + 'CREATE PUMP "A" AS INSERT INTO "SORTED" SELECT STREAM "heartRate"'
        " FROM \"SOURCE_SQL_STREAM_001\" ORDER BY STEP(ROWTIME BY INTERVAL '10' SECOND),"
        ' "heartRate";' + pump('SELECT STREAM "heartRate", 0 FROM "SORTED"')
    )
    assert (
        "SELECT CAST(`heartRate` AS INT), window_time AS `ROWTIME`\nFROM (SELECT *, ROW_NUMBER()"
    ) in sql
    assert "INTERVAL '10' SECOND(2))) AS `SOURCE_SQL_STREAM_001`) AS" in sql


@pytest.mark.parametrize(
    "order",
    ["FLOOR(ROWTIME TO MINUTE)", "ROWTIME", "ROWTIME ASC", '"SOURCE_SQL_STREAM_001".ROWTIME'],
)
def test_order_by_time_alone_is_the_streams_own_order(order: str) -> None:
    sql = flink(
        OUT + pump(f'SELECT STREAM "heartRate", 1.0 FROM "SOURCE_SQL_STREAM_001" ORDER BY {order}')
    )
    assert sql == (
        "INSERT INTO `destination_sql_stream` (`heartRate`, `ANOMALY_SCORE`)\n"
        "SELECT CAST(`heartRate` AS INT), CAST(1.0 AS DOUBLE)\nFROM `SOURCE_SQL_STREAM_001`;\n"
    )


SOURCE = 'FROM "SOURCE_SQL_STREAM_001"'


@pytest.mark.parametrize(
    ("select", "message"),
    [
        (f'SELECT STREAM "heartRate", 1.0 {SOURCE}\nORDER BY "heartRate"',
         "app.sql:2:1: ORDER BY on a stream starts with an ascending time-based expression of "
         "ROWTIME"),
        (f'SELECT STREAM "heartRate", 1.0 {SOURCE}\nORDER BY FLOOR(ROWTIME TO SECOND) DESC, 2',
         "app.sql:2:1: ORDER BY on a stream starts with an ascending"),
        (f'SELECT STREAM "heartRate", 1.0 {SOURCE}\nORDER BY ROWTIME, "heartRate"',
         "app.sql:2:1: ORDER BY ROWTIME, ... is not translated"),
        (f'SELECT STREAM "heartRate", COUNT(*) {SOURCE} GROUP BY "heartRate",'
         " FLOOR(ROWTIME TO SECOND)\nORDER BY FLOOR(ROWTIME TO SECOND), 2",
         "app.sql:2:1: ORDER BY on a grouped query is not translated yet"),
        ("SELECT STREAM * FROM TABLE(RANDOM_CUT_FOREST(CURSOR(SELECT STREAM * "
         f"{SOURCE})))\nORDER BY FLOOR(ROWTIME TO SECOND), ANOMALY_SCORE",
         "app.sql:2:1: ORDER BY over a table function is not translated"),
        ("SELECT STREAM * FROM TABLE(RANDOM_CUT_FOREST(\nCURSOR(SELECT STREAM * "
         f"{SOURCE}), 100, x))",
         "app.sql:2:60: RANDOM_CUT_FOREST: subSampleSize is a whole number"),
        ("SELECT STREAM * FROM TABLE(RANDOM_CUT_FOREST(\nCURSOR(SELECT STREAM * "
         f"{SOURCE}), 1, 2, 3, 4, 5))",
         "app.sql:2:67: RANDOM_CUT_FOREST takes at most 4 parameters after CURSOR"),
        ("SELECT STREAM * FROM TABLE(RANDOM_CUT_FOREST_WITH_EXPLANATION(CURSOR(SELECT STREAM * "
         f"{SOURCE}),\n1, 2, 3, 4, 1))",
         "app.sql:2:13: RANDOM_CUT_FOREST_WITH_EXPLANATION: withDirectionality is TRUE or FALSE"),
        ("SELECT STREAM * FROM TABLE(RANDOM_CUT_FOREST(CURSOR(SELECT STREAM * "
         f"{SOURCE}),\n1.5))",
         "app.sql:2:1: RANDOM_CUT_FOREST: numberOfTrees is a whole number"),
        ("SELECT STREAM * FROM TABLE(RANDOM_CUT_FOREST(\n\"SOURCE_SQL_STREAM_001\"))",
         "app.sql:2:1: RANDOM_CUT_FOREST takes CURSOR(SELECT STREAM ...) first"),
        ("SELECT STREAM * FROM TABLE(\nHOTSPOTS(CURSOR(SELECT STREAM * "
         f"{SOURCE}), 1000, 0.2, 17))",
         "app.sql:2:1: TABLE(HOTSPOTS(...)) is not translated"),
        (f"SELECT STREAM * FROM TABLE(TOP_K_ITEMS_TUMBLING(CURSOR(SELECT STREAM * {SOURCE}),"
         "\n'heartRate', 0, 60))",
         "app.sql:2:14: TOP_K_ITEMS_TUMBLING: K must be between 1 and 100000, got 0"),
        (f"SELECT STREAM * FROM TABLE(TOP_K_ITEMS_TUMBLING(CURSOR(SELECT STREAM * {SOURCE}),"
         "\n'heartRate', 100001, 60))",
         "K must be between 1 and 100000, got 100001"),
        (f"SELECT STREAM * FROM TABLE(TOP_K_ITEMS_TUMBLING(CURSOR(SELECT STREAM * {SOURCE}),"
         "\n'heartRate', 5, 3601))",
         "app.sql:2:17: TOP_K_ITEMS_TUMBLING: windowSize (seconds) must be between 1 and 3600"),
        (f"SELECT STREAM * FROM TABLE(TOP_K_ITEMS_TUMBLING(CURSOR(SELECT STREAM * {SOURCE}),"
         "\n\"heartRate\", 5, 60))",
         "app.sql:2:1: TOP_K_ITEMS_TUMBLING(CURSOR(...), 'columnName', K, windowSize): the "
         "column's name is in single quotes"),
        (f"SELECT STREAM * FROM TABLE(TOP_K_ITEMS_TUMBLING(CURSOR(SELECT STREAM * {SOURCE}),"
         "\n'pulse', 5, 60))",
         "app.sql:2:1: the cursor has no column 'pulse'"),
        (f"SELECT STREAM * FROM TABLE(TOP_K_ITEMS_TUMBLING(CURSOR(SELECT STREAM * {SOURCE}),"
         "\n'heartRate', 5))",
         "takes 4 parameters, got 3"),
    ],
)  # fmt: skip
def test_what_is_not_translated_is_named_with_its_place(select: str, message: str) -> None:
    assert message in fails(OUT + pump(select))
