"""Kinesis Analytics' TABLE(RANDOM_CUT_FOREST(CURSOR(...))) rewritten into the Flink call."""

from __future__ import annotations

import pytest

from tidebox.core.errors import JobError
from tidebox.flink.kinesis_calls import has_cursor_call, rewrite

COLUMNS = [("device", "STRING"), ("ts", "TIMESTAMP_LTZ(3) *ROWTIME*"), ("flow", "DOUBLE")]


class Views:
    """Stands in for the table environment's views: records each cursor query it is given."""

    def __init__(self, columns: list[tuple[str, str]] = COLUMNS) -> None:
        self.columns = columns
        self.queries: list[str] = []

    def define(self, query: str) -> tuple[str, list[tuple[str, str]]]:
        self.queries.append(query)
        return f"__rcf_cursor_{len(self.queries)}", self.columns


def test_a_kinesis_call_becomes_the_flink_call_with_the_cursors_columns() -> None:
    views = Views()
    sql = (
        "INSERT INTO out SELECT STREAM * FROM TABLE(RANDOM_CUT_FOREST("
        'CURSOR(SELECT STREAM * FROM "SOURCE_SQL_STREAM_001"), 50, 128))'
    )
    assert has_cursor_call(sql)
    got = rewrite(sql, "job.sql", views.define)
    assert views.queries == ["SELECT * FROM `SOURCE_SQL_STREAM_001`"]
    assert got == (
        "INSERT INTO out SELECT * FROM (SELECT `device`, `rowtime` AS `ts`, `flow`, "
        "`ANOMALY_SCORE` FROM RANDOM_CUT_FOREST(input => TABLE `__rcf_cursor_1`, "
        "on_time => DESCRIPTOR(`ts`), number_of_trees => 50, sub_sample_size => 128, "
        "uid => 'rcf_cursor_1'))"
    )


def test_the_explaining_variant_takes_directionality_and_adds_the_explanation() -> None:
    views = Views()
    sql = (
        "select * from table(random_cut_forest_with_explanation("
        "cursor(select stream flow, ts from s WHERE note = 'a,(b'), 100, 256, 100000, 1, true))"
    )
    got = rewrite(sql, "job.sql", views.define)
    assert views.queries == ["select flow, ts from s WHERE note = 'a,(b'"]
    assert "with_directionality => true" in got
    assert got.endswith(
        "`ANOMALY_SCORE`, `ANOMALY_EXPLANATION` FROM RANDOM_CUT_FOREST_WITH_EXPLANATION("
        "input => TABLE `__rcf_cursor_1`, on_time => DESCRIPTOR(`ts`), number_of_trees => 100, "
        "sub_sample_size => 256, time_decay => 100000, shingle_size => 1, "
        "with_directionality => true, uid => 'rcf_cursor_1'))"
    )


def test_two_calls_get_two_views() -> None:
    views = Views()
    sql = (
        "SELECT * FROM TABLE(RANDOM_CUT_FOREST(CURSOR(SELECT * FROM a))) JOIN "
        "TABLE(RANDOM_CUT_FOREST(CURSOR(SELECT * FROM b))) ON TRUE"
    )
    got = rewrite(sql, "job.sql", views.define)
    assert views.queries == ["SELECT * FROM a", "SELECT * FROM b"]
    assert "`__rcf_cursor_1`" in got and "`__rcf_cursor_2`" in got


def test_the_flink_form_is_left_alone() -> None:
    sql = "SELECT * FROM RANDOM_CUT_FOREST(input => TABLE t, on_time => DESCRIPTOR(ts))"
    assert not has_cursor_call(sql)


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        (
            "SELECT * FROM TABLE(RANDOM_CUT_FOREST(SELECT * FROM s))",
            r"first parameter must be CURSOR",
        ),
        (
            "SELECT * FROM TABLE(RANDOM_CUT_FOREST(CURSOR(SELECT * FROM s), 1, 2, 3, 4, 5))",
            r"at most 4 parameters after the cursor \(numberOfTrees, subSampleSize, timeDecay, "
            r"shingleSize\), got 5",
        ),
        (
            "SELECT * FROM TABLE(RANDOM_CUT_FOREST(CURSOR(SELECT * FROM s), x + 1))",
            r"numberOfTrees must be a literal, got 'x \+ 1'",
        ),
        ("SELECT * FROM TABLE(RANDOM_CUT_FOREST(CURSOR(SELECT * FROM s)", r"is not closed"),
    ],
)
def test_a_malformed_call_is_one_error_naming_the_parameter(sql: str, message: str) -> None:
    with pytest.raises(JobError, match=message):
        rewrite(sql, "job.sql", Views().define)


def test_a_cursor_without_event_time_is_refused() -> None:
    views = Views([("device", "STRING"), ("flow", "DOUBLE")])
    sql = "SELECT * FROM TABLE(RANDOM_CUT_FOREST(CURSOR(SELECT device, flow FROM s)))"
    with pytest.raises(JobError, match=r"no event-time attribute .* select the stream's time"):
        rewrite(sql, "job.sql", views.define)
