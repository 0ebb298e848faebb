"""KDA SQL's stagger windows by the Flink SQL they emit (no Flink run): the view of the
window's rows through tidebox's KDA_STAGGER function, and the 1 ms group window over it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tidebox.flink.kda.support import without_retyping
from tests.tidebox.flink.test_loader import Named
from tidebox.core.errors import KdaSqlError
from tidebox.core.settings import Settings, StreamSpec
from tidebox.flink.kda.application import parse_application
from tidebox.flink.kda.job import KdaBinding
from tidebox.flink.kda.translate import translate_application
from tidebox.flink.loader import job_script, load_job

TICKS = {"TICKER_SYMBOL": "STRING", "PRICE": "DOUBLE", "EVENT_TIME": "TIMESTAMP(3)"}
STREAM = (
    'CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" ('
    " ticker_symbol VARCHAR(4), event_time TIMESTAMP, ticker_count DOUBLE);\n"
)
PUMP = 'CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"\n'


def flink(text: str) -> str:
    """The rule's own Flink SQL, without the casts to the declared types (test_types')."""
    return without_retyping(translate_application(parse_application(text, "app.sql"), TICKS).text)


def fails(text: str) -> str:
    with pytest.raises(KdaSqlError) as info:
        flink(text)
    return str(info.value)


def test_the_guides_stagger_window_reads_the_functions_view() -> None:
    sql = flink(
        STREAM + PUMP + "SELECT STREAM TICKER_SYMBOL, FLOOR(EVENT_TIME TO MINUTE),"
        " COUNT(TICKER_SYMBOL) AS ticker_count\n"
        'FROM "SOURCE_SQL_STREAM_001"\n'
        "WINDOWED BY STAGGER (\n"
        "    PARTITION BY FLOOR(EVENT_TIME TO MINUTE), TICKER_SYMBOL RANGE INTERVAL '1' MINUTE);"
    )
    assert sql == (
        "CREATE TEMPORARY VIEW `STAGGER_5_13` AS\n"
        "SELECT * FROM TABLE(KDA_STAGGER(input => (\n"
        "SELECT *, ROW(`STAGGER_KEY_1`, `TICKER_SYMBOL`) AS `STAGGER_KEY`\n"
        "FROM (\n"
        "SELECT *, FLOOR(`EVENT_TIME` TO MINUTE) AS `STAGGER_KEY_1`\n"
        "FROM `SOURCE_SQL_STREAM_001`\n"
        ")\n"
        ") PARTITION BY `STAGGER_KEY`, on_time => DESCRIPTOR(`ROWTIME`),"
        " window_length => INTERVAL '1' MINUTE(2), uid => 'stagger_5_13'));\n\n"
        "INSERT INTO `destination_sql_stream` (`TICKER_SYMBOL`, `EVENT_TIME`, `TICKER_COUNT`)\n"
        "SELECT `TICKER_SYMBOL`, `STAGGER_KEY_1`, COUNT(`TICKER_SYMBOL`) AS `TICKER_COUNT`\n"
        "FROM `STAGGER_5_13` AS `SOURCE_SQL_STREAM_001`\n"
        "GROUP BY `STAGGER_KEY_1`, `TICKER_SYMBOL`, TUMBLE(`rowtime`, INTERVAL '0.001' SECOND);\n"
    )


def test_one_column_key_is_the_partition_and_where_filters_before_the_window() -> None:
    sql = flink(
        STREAM + PUMP + "SELECT STREAM s.ticker_symbol, MAX(s.ROWTIME), SUM(price)\n"
        'FROM "SOURCE_SQL_STREAM_001" AS s WHERE price > 1\n'
        "WINDOWED BY STAGGER (PARTITION BY s.ticker_symbol RANGE INTERVAL '90' SECOND)\n"
        "HAVING SUM(price) > 10;"
    )
    assert (
        "SELECT *\nFROM `SOURCE_SQL_STREAM_001` AS s\nWHERE `PRICE` > 1\n"
        ") PARTITION BY `TICKER_SYMBOL`, on_time => DESCRIPTOR(`ROWTIME`),"
        " window_length => INTERVAL '90' SECOND(2)"
    ) in sql
    # ROWTIME, qualified or not, is the window's close: the start of its 1 ms window
    assert (
        "SELECT s.`TICKER_SYMBOL`,"
        " MAX(TUMBLE_START(`rowtime`, INTERVAL '0.001' SECOND)), SUM(`PRICE`)\n"
        "FROM `STAGGER_5_13` AS s\n"
        "GROUP BY `TICKER_SYMBOL`, TUMBLE(`rowtime`, INTERVAL '0.001' SECOND)\n"
        "HAVING SUM(`PRICE`) > 10;"
    ) in sql


def test_an_intermediate_stream_gets_the_close_as_its_rowtime() -> None:
    sql = flink(
        'CREATE STREAM "MID" (ticker_symbol VARCHAR(4), n BIGINT);\n'
        'CREATE PUMP "P1" AS INSERT INTO "MID" SELECT STREAM ticker_symbol, COUNT(*)'
        ' FROM "SOURCE_SQL_STREAM_001"'
        " WINDOWED BY STAGGER(PARTITION BY ticker_symbol RANGE INTERVAL '2' HOUR);\n"
        'CREATE STREAM "OUT" (ticker_symbol VARCHAR(4), n BIGINT);\n'
        'CREATE PUMP "P2" AS INSERT INTO "OUT" SELECT STREAM * FROM "MID";'
    )
    assert "window_length => INTERVAL '2' HOUR(2)" in sql
    assert (
        "CREATE TEMPORARY VIEW `MID` (`TICKER_SYMBOL`, `N`, `ROWTIME`) AS\n"
        "SELECT `TICKER_SYMBOL`, COUNT(*),"
        " TUMBLE_ROWTIME(`rowtime`, INTERVAL '0.001' SECOND) AS `ROWTIME`\n"
    ) in sql
    assert sql.index("CREATE TEMPORARY VIEW `STAGGER_") < sql.index("CREATE TEMPORARY VIEW `MID`")


@pytest.mark.parametrize(
    ("windowed", "message"),
    [
        ("WINDOWED BY STAGGER (RANGE INTERVAL '1' MINUTE)",
         "app.sql:4:22: a stagger window needs PARTITION BY keys"),
        ("WINDOWED BY STAGGER (PARTITION BY ticker_symbol)",
         "app.sql:4:13: a stagger window needs its length: RANGE INTERVAL 'n'"),
        ("WINDOWED BY STAGGER (PARTITION BY ticker_symbol RANGE INTERVAL '1' WEEK)",
         "app.sql:4:68: a stagger window's length is RANGE INTERVAL 'n' SECOND|MINUTE|HOUR|DAY"),
        ("WINDOWED BY STAGGER (PARTITION BY ticker_symbol RANGE INTERVAL 'x' MINUTE)",
         "app.sql:4:64: a stagger window's length is RANGE INTERVAL"),
        ("WINDOWED BY STAGGER (PARTITION BY ticker_symbol RANGE INTERVAL '0' MINUTE)",
         "app.sql:4:64: a stagger window's length must be more than 0"),
        ("WINDOWED BY SLIDING (PARTITION BY ticker_symbol RANGE INTERVAL '1' MINUTE)",
         "app.sql:4:13: WINDOWED BY takes STAGGER(PARTITION BY ... RANGE INTERVAL ...)"),
        ("GROUP BY ticker_symbol WINDOWED BY STAGGER (PARTITION BY ticker_symbol"
         " RANGE INTERVAL '1' MINUTE)",
         "app.sql:4:1: WINDOWED BY takes the place of GROUP BY: not both"),
    ],
)  # fmt: skip
def test_a_stagger_window_tidebox_cannot_run_is_refused_at_its_place(
    windowed: str, message: str
) -> None:
    text = STREAM + PUMP + 'SELECT STREAM ticker_symbol, COUNT(*) FROM "SOURCE_SQL_STREAM_001"\n'
    assert message in fails(text + windowed + ";")


def test_a_job_with_a_stagger_window_declares_tidebox_functions() -> None:
    """The job's text is KDA SQL; its translation names KDA_STAGGER, so the job gets it."""
    ticks = StreamSpec(name="ticks", columns={**TICKS})
    app = Path(__file__).parent / "apps" / "stagger_tickers.kda.sql"
    job = load_job(Settings(streams=[ticks]), app, kda=KdaBinding("ticks"))
    script = job_script(job, Named())
    declared = [s for s in script if s.startswith("CREATE TEMPORARY SYSTEM FUNCTION")]
    assert any("KDA_STAGGER AS 'io.tidebox.flink.KdaStaggerFunction'" in s for s in declared)
    stagger = next(i for i, s in enumerate(script) if "KDA_STAGGER(input =>" in s)
    assert stagger < next(i for i, s in enumerate(script) if s.startswith("INSERT INTO"))
