"""KDA's types as Flink's, and the cast of each pumped value to its column's declared type."""

from __future__ import annotations

import pytest

from tidebox.core.errors import KdaSqlError
from tidebox.flink.kda.application import parse_application
from tidebox.flink.kda.translate import translate_application
from tidebox.flink.kda.types import UnknownType, flink_type

TICKS = {"TICKER": "STRING", "PRICE": "DOUBLE"}


def flink(text: str) -> str:
    return translate_application(parse_application(text, "app.sql"), TICKS).text


@pytest.mark.parametrize(
    ("kda", "expected"),
    [
        ("VARCHAR(4)", "VARCHAR(4)"), ("VARCHAR", "STRING"), ("CHAR(3)", "CHAR(3)"),
        ("CHARACTER(2)", "CHAR(2)"), ("CHAR", "CHAR(1)"), ("INTEGER", "INT"), ("INT", "INT"),
        ("BIGINT", "BIGINT"), ("SMALLINT", "SMALLINT"), ("TINYINT", "TINYINT"),
        ("DOUBLE", "DOUBLE"), ("DOUBLE PRECISION", "DOUBLE"), ("REAL", "FLOAT"),
        ("DECIMAL(19,5)", "DECIMAL(19, 5)"), ("NUMERIC(7)", "DECIMAL(7, 0)"),
        ("DEC", "DECIMAL(19, 0)"), ("BOOLEAN", "BOOLEAN"), ("TIMESTAMP", "TIMESTAMP(3)"),
        ("DATE", "DATE"), ("TIME", "TIME(3)"), ("VARBINARY(16)", "VARBINARY(16)"),
    ],
)  # fmt: skip
def test_kda_types_as_flinks(kda: str, expected: str) -> None:
    assert flink_type(kda) == expected


@pytest.mark.parametrize("kda", ["LONG", "INTERVAL", "INTEGER(3)", "VARCHAR(4,2)", "STRING"])
def test_unknown_types_are_refused(kda: str) -> None:
    with pytest.raises(UnknownType):
        flink_type(kda)


def test_each_value_is_cast_to_its_columns_type_in_views_and_inserts() -> None:
    sql = flink(
        'CREATE STREAM "MID" ("t" VARCHAR(2), "p" REAL);'
        'CREATE STREAM "OUT" (t CHAR(2), n INTEGER, d DECIMAL(9,2));'
        'CREATE PUMP "A" AS INSERT INTO "MID" SELECT STREAM ticker AS x, price p'
        ' FROM "SOURCE_SQL_STREAM_001";'
        'CREATE PUMP "B" AS INSERT INTO "OUT" (d, t) SELECT STREAM "p" * 2, "t" FROM "MID"'
    )
    assert (
        "CREATE TEMPORARY VIEW `MID` (`t`, `p`, `ROWTIME`) AS\n"
        "SELECT CAST(`TICKER` AS VARCHAR(2)) AS x, CAST(`PRICE` AS FLOAT) AS p, `ROWTIME`\n"
    ) in sql  # ROWTIME is carried as it is: a cast would lose its being the time attribute
    assert (
        "INSERT INTO `out` (`D`, `T`)\n"
        "SELECT CAST(`p` * 2 AS DECIMAL(9, 2)), CAST(`t` AS CHAR(2))\nFROM `MID`;"
    ) in sql


def test_select_star_is_cast_column_by_column() -> None:
    sql = flink(
        'CREATE STREAM "OUT" (t VARCHAR(4), p DOUBLE); CREATE PUMP "A" AS INSERT INTO "OUT"'
        ' SELECT STREAM * FROM "SOURCE_SQL_STREAM_001"'
    )
    assert "SELECT CAST(`TICKER` AS VARCHAR(4)), CAST(`PRICE` AS DOUBLE)\n" in sql


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('CREATE STREAM "O" (a INT,\n  b LONG);'
         'CREATE PUMP p AS INSERT INTO "O" SELECT STREAM price, price FROM s',
         "app.sql:2:3: LONG is not a KDA SQL type"),
        ('CREATE STREAM "O" (a INT, b INT);\n'
         'CREATE PUMP p AS INSERT INTO "O" SELECT STREAM price FROM s',
         "app.sql:2:34: the query selects 1 value for 2 columns"),
        ('CREATE STREAM "O" (a INT);\nCREATE PUMP p AS INSERT INTO "O" (z) SELECT STREAM 1 FROM s',
         'app.sql:2:13: "O" has no column "Z"'),
    ],
)  # fmt: skip
def test_type_errors_name_their_place(text: str, where: str) -> None:
    with pytest.raises(KdaSqlError) as info:
        flink(text)
    assert where in str(info.value)


def test_a_window_rules_query_is_cast_by_position() -> None:
    """A sliding (or stagger) window writes its own select list: its values are cast to the
    declared types through a derived table that names them by position, ROWTIME kept."""
    sql = flink(
        'CREATE STREAM "AVGS" (t VARCHAR(4), a REAL); CREATE STREAM "OUT" (t VARCHAR(4), a REAL);'
        'CREATE PUMP "A" AS INSERT INTO "AVGS" SELECT STREAM ticker,'
        ' AVG(price) OVER (PARTITION BY ticker ROWS 2 PRECEDING) FROM "SOURCE_SQL_STREAM_001";'
        'CREATE PUMP "B" AS INSERT INTO "OUT" SELECT STREAM * FROM "AVGS"'
    )
    assert sql.startswith(
        "CREATE TEMPORARY VIEW `AVGS` (`T`, `A`, `ROWTIME`) AS\n"
        "SELECT CAST(`$c0` AS VARCHAR(4)), CAST(`$c1` AS FLOAT), `ROWTIME`\nFROM (SELECT "
    )
    assert ") AS `$typed` (`$c0`, `$c1`, `ROWTIME`);" in sql
