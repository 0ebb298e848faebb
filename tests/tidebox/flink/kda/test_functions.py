"""Each KDA scalar function by the Flink SQL it becomes (no Flink run; the mappings ran on
Flink 2.2 in test_kda_functions.py)."""

from __future__ import annotations

import pytest

from tidebox.core.errors import KdaSqlError
from tidebox.flink.kda.functions import pattern_letters
from tidebox.flink.kda.query import Scope, translate_query
from tidebox.flink.kda.tokens import Token, tokenize

NAMES = {n: n for n in ("SOURCE_SQL_STREAM_001", "REFERRER", "EVENT_TIME", "TICKER", "MS")}
SCOPE = Scope(NAMES, {})


def _error(token: Token, problem: str) -> KdaSqlError:
    return KdaSqlError("app.sql", token.line, token.column, problem)


def sql(expression: str) -> str:
    """The Flink SQL of one selected KDA expression."""
    query = f'SELECT STREAM {expression} FROM "SOURCE_SQL_STREAM_001"'
    text = translate_query(tuple(tokenize(query, "app.sql")), SCOPE, _error)
    return text.removeprefix("SELECT ").removesuffix("\nFROM `SOURCE_SQL_STREAM_001`")


def refusal(expression: str) -> str:
    with pytest.raises(KdaSqlError) as info:
        sql(expression)
    return str(info.value)


STAMP = "CAST(`EVENT_TIME` AS TIMESTAMP(3))"


@pytest.mark.parametrize(
    ("kda", "flink"),
    [
        ("TIMESTAMP_TO_CHAR('yyyy-MM-dd hh:mm:ss', EVENT_TIME)",
         "COALESCE(DATE_FORMAT(`EVENT_TIME`, 'yyyy-MM-dd hh:mm:ss'), 'null')"),
        ("DATE_TO_CHAR('dd/MM/yyyy', EVENT_TIME)",
         "COALESCE(DATE_FORMAT(CAST(`EVENT_TIME` AS TIMESTAMP(3)), 'dd/MM/yyyy'), 'null')"),
        ("CHAR_TO_TIMESTAMP('yyyy-MM-dd HH:mm:ss', REFERRER)",
         "TO_TIMESTAMP(`REFERRER`, 'yyyy-MM-dd HH:mm:ss')"),
        ("CHAR_TO_DATE('yyyy-MM-dd', REFERRER)",
         "CAST(TO_TIMESTAMP(`REFERRER`, 'yyyy-MM-dd') AS DATE)"),
        ("UNIX_TIMESTAMP(EVENT_TIME)",
         f"(EXTRACT(EPOCH FROM {STAMP}) * 1000 + EXTRACT(MILLISECOND FROM {STAMP}))"),
        ("TO_TIMESTAMP(ms)", "CAST(TO_TIMESTAMP_LTZ(CAST(`MS` AS BIGINT), 3) AS TIMESTAMP(3))"),
        ("TSDIFF(ms, ms + 5)", "(CAST(`MS` + 5 AS BIGINT) - CAST(`MS` AS BIGINT))"),
        ("CURRENT_ROW_TIMESTAMP", "CAST(CURRENT_ROW_TIMESTAMP() AS TIMESTAMP(3))"),
        ("CURRENT_ROW_TIMESTAMP()", "CAST(CURRENT_ROW_TIMESTAMP() AS TIMESTAMP(3))"),
        ("EXTRACT(SECOND FROM EVENT_TIME)",
         "CAST(EXTRACT(SECOND FROM `EVENT_TIME`) + EXTRACT(MILLISECOND FROM `EVENT_TIME`)"
         " / 1000.0 AS DECIMAL(5, 3))"),
        ("EXTRACT(HOUR FROM EVENT_TIME)", "EXTRACT(HOUR FROM `EVENT_TIME`)"),
        ("SUBSTRING(referrer, 12, 6)", "SUBSTRING(`REFERRER`, 12, 6)"),
        ("SUBSTRING(referrer FROM 12 FOR 6)", "SUBSTRING(`REFERRER`, 12, 6)"),
        ("SUBSTRING(referrer FROM 3)", "SUBSTRING(`REFERRER`, 3)"),
        ("SUBSTRING(referrer, ms, 2)",
         "SUBSTRING(`REFERRER`, GREATEST(`MS`, 1), GREATEST(`MS` + 2, 1) - GREATEST(`MS`, 1))"),
        ("SUBSTRING(referrer FROM 0)", "SUBSTRING(`REFERRER`, GREATEST(0, 1))"),
        ("SUBSTRING(referrer, POSITION('www.' IN referrer) + 4)",
         "SUBSTRING(`REFERRER`, GREATEST(POSITION('www.' IN `REFERRER`) + 4, 1))"),
        ("REGEX_REPLACE(\"REFERRER\", 'http://', 'https://', 1, 0)",
         "REGEXP_REPLACE(`REFERRER`, 'http://', 'https://')"),
        ("REGEX_REPLACE(referrer, '(w+)', '<$1>', 1, 0)",
         "KDA_REGEX_REPLACE(`REFERRER`, '(w+)', '<$1>', CAST(1 AS INT), CAST(0 AS INT))"),
        ("REGEX_REPLACE(referrer, 'a', 'b', ms, 2)",
         "KDA_REGEX_REPLACE(`REFERRER`, 'a', 'b', CAST(`MS` AS INT), CAST(2 AS INT))"),
        ("INITCAP(ticker)", "KDA_INITCAP(`TICKER`)"),
        ("CAST(ms AS VARCHAR(8))", "CAST(`MS` AS VARCHAR(8))"),
        ("CAST(ms AS REAL) + CAST(ms AS DOUBLE PRECISION)",
         "CAST(`MS` AS FLOAT) + CAST(`MS` AS DOUBLE)"),
        ("CAST(referrer AS TIMESTAMP)", "CAST(`REFERRER` AS TIMESTAMP(3))"),
        ("CAST(ms AS DECIMAL(19, 5))", "CAST(`MS` AS DECIMAL(19, 5))"),
        ("MONOTONIC(ms)", "(`MS`)"),
        # the same in Flink: left as written
        ("UPPER(ticker) || LOWER('X') || TRIM(LEADING 'h' FROM referrer)",
         "UPPER(`TICKER`) || LOWER('X') || TRIM(LEADING 'h' FROM `REFERRER`)"),
        ("CHAR_LENGTH(referrer) + CHARACTER_LENGTH(ticker) + POSITION('.com' IN referrer)",
         "CHAR_LENGTH(`REFERRER`) + CHARACTER_LENGTH(`TICKER`) + POSITION('.com' IN `REFERRER`)"),
        ("OVERLAY(referrer PLACING 'x' FROM 2 FOR 3)",
         "(SUBSTRING(`REFERRER`, 1, GREATEST(2 - 1, 0)) || 'x'"
         " || SUBSTRING(`REFERRER`, GREATEST(2 + 3, 1)))"),
        ("OVERLAY(ticker PLACING '--' FROM 2)",
         "(SUBSTRING(`TICKER`, 1, GREATEST(2 - 1, 0)) || '--'"
         " || SUBSTRING(`TICKER`, GREATEST(2 + CHAR_LENGTH('--'), 1)))"),
        ("ABS(ms) + CEIL(1.5) + MOD(ms, 3) + POWER(2, 3) + LN(1) + LOG10(ms) + EXP(0)",
         "ABS(`MS`) + CEIL(1.5) + MOD(`MS`, 3) + POWER(2, 3) + LN(1) + LOG10(`MS`) + EXP(0)"),
        ("COALESCE(ticker, 'none'), NULLIF(ticker, 'X')",
         "COALESCE(`TICKER`, 'none'), NULLIF(`TICKER`, 'X')"),
        ("TIMESTAMP_TO_CHAR('HH', CHAR_TO_TIMESTAMP('yyyy', SUBSTRING(referrer, 1, 4)))",
         "COALESCE(DATE_FORMAT(TO_TIMESTAMP(SUBSTRING(`REFERRER`, 1, 4), 'yyyy'), 'HH'), 'null')"),
    ],
)  # fmt: skip
def test_each_function_in_flink_sql(kda: str, flink: str) -> None:
    assert sql(kda) == flink


def test_like_and_similar_to_are_flinks_own() -> None:
    query = (
        "SELECT STREAM ticker FROM \"SOURCE_SQL_STREAM_001\" WHERE ticker SIMILAR TO '%TECH%'"
        " AND referrer LIKE 'http%'"
    )
    text = translate_query(tuple(tokenize(query, "a.sql")), SCOPE, _error)
    assert text.endswith("WHERE `TICKER` SIMILAR TO '%TECH%' AND `REFERRER` LIKE 'http%'")


@pytest.mark.parametrize(
    ("kda", "refused"),
    [
        ("REGEX_LOG_PARSE(referrer, '(\\w+)')",
         "app.sql:1:15: REGEX_LOG_PARSE returns a row of parsed columns"),
        ("ticker, VARIABLE_COLUMN_LOG_PARSE(referrer, 3, ',')",
         "app.sql:1:23: VARIABLE_COLUMN_LOG_PARSE returns a row"),
        ("W3C_LOG_PARSE(referrer, 'COMMON')", "W3C_LOG_PARSE returns a row"),
        ("TIMESTAMP_TO_CHAR('yyyy z', EVENT_TIME)",
         "TIMESTAMP_TO_CHAR format 'yyyy z': 'z' does not format the same in Flink"),
        ("TIMESTAMP_TO_CHAR('S', EVENT_TIME)", "'S' does not format the same"),
        ("TIMESTAMP_TO_CHAR(ticker, EVENT_TIME)", "takes its format as a string literal"),
        ("CHAR_TO_TIMESTAMP('yyyy-MM-dd hh', referrer)", "'hh' does not parse the same"),
        ("REGEX_REPLACE(referrer, 'a', 'b')", "REGEX_REPLACE takes 5 arguments"),
        ("TSDIFF(ms)", "TSDIFF takes 2 arguments"),
        ("OVERLAY(ticker PLACING 'x')", "OVERLAY takes (string PLACING string FROM start"),
        ("CAST(ms AS LONG)", "app.sql:1:26: LONG is not a KDA SQL type"),
    ],
)  # fmt: skip
def test_what_flink_cannot_do_the_same_is_refused_at_the_call(kda: str, refused: str) -> None:
    assert refused in refusal(kda)


def test_pattern_letters_skip_quoted_text() -> None:
    assert pattern_letters("yyyy-MM-dd'T'HH 'o''clock' SSS") == [
        ("y", 4), ("M", 2), ("d", 2), ("H", 2), ("S", 3),
    ]  # fmt: skip
