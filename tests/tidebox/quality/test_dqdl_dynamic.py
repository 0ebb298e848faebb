"""Dynamic rules across several runs: last(k), the reducers, index, arithmetic, too little
history, and the rule written back with its values for Glue's EvaluatedRule."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tidebox.core.errors import DynamicValueUnavailable, TideboxError
from tidebox.core.settings import Settings
from tidebox.quality.dqdl import BinaryOp, Compare, FunctionCall, Negate, Rule, parse_ruleset
from tidebox.quality.dqdl.dynamic import (
    GLUE_EMPTY_HISTORY,
    evaluate_expression,
    evaluated_rule,
    resolve_condition,
)
from tidebox.quality.dqdl.history import metric_history, record_run
from tidebox.quality.dqdl.model import NumericExpr
from tidebox.quality.dqdl.render import render_rule

ROWS = "Dataset.*.RowCount"
T0 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def _rule(text: str) -> Rule:
    (rule,) = parse_ruleset(f"Rules = [ {text} ]", "test").leaf_rules()
    return rule


def _expr(text: str) -> NumericExpr:
    """The dynamic expression of ``RowCount = <text>``."""
    condition = _rule(f"RowCount = {text}").condition
    if not isinstance(condition, Compare):
        raise AssertionError(condition)
    value = condition.value
    if not isinstance(value, int | float | FunctionCall | BinaryOp | Negate):
        raise AssertionError(value)
    return value


def test_a_dynamic_rule_across_several_runs(tmp_path: Path) -> None:
    """Runs with 100, 110 and 120 rows, then ``RowCount > avg(last(3)) * 0.9``: threshold 99.
    Each run reads the history before it is recorded, so it sees earlier runs only."""
    settings = Settings(state_dir=tmp_path / "state")
    rule = _rule("RowCount > avg(last(3)) * 0.9")
    seen = []
    for n, rows in enumerate([100, 110, 120, 90]):
        history = metric_history(settings, "readings", ROWS, ruleset="r")
        seen.append(evaluated_rule(rule, history, when_empty=GLUE_EMPTY_HISTORY))
        started = T0 + timedelta(hours=n)
        record_run(settings, "readings", "r", started, started, 1.0, {ROWS: rows})
    assert seen == [
        "RowCount > 0.0",  # Glue's first run: last(k) is 0.0
        "RowCount > 90.0",
        "RowCount > 94.5",
        "RowCount > 99.0",
    ]
    history = metric_history(settings, "readings", ROWS, ruleset="r")
    assert history == [90.0, 120.0, 110.0, 100.0]
    threshold = evaluate_expression(_expr("avg(last(3)) * 0.9"), history)
    assert threshold == pytest.approx(0.9 * 320 / 3)


def test_the_functions_over_a_known_history() -> None:
    history = [5.0, 1.0, 3.0, 10.0]  # newest first
    cases = {
        "avg(last(3))": 3.0,
        "median(last(3))": 3.0,
        "min(last(3))": 1.0,
        "max(last(3))": 5.0,
        "sum(last(3))": 9.0,
        "stdev(last(3))": math.sqrt(8 / 3),  # population: divided by n
        "std(last(2))": 2.0,
        "avg(last(10))": 19 / 4,  # fewer than k: all of them
        "std(last(1))": 0.0,
        "index(last(3), 0)": 5.0,  # zero-based, newest first
        "index(last(3), 2)": 3.0,
        "index(last(5), 3)": 10.0,
        "avg(last(2)) - 2 * stdev(last(2))": 3.0 - 2 * 2.0,
        "(max(last(4)) - min(last(4))) / 3": 3.0,
        "-max(last(4)) + 1": -9.0,
        "avg(last(4)) / 0": math.inf,
    }
    for text, expected in cases.items():
        assert evaluate_expression(_expr(text), history) == pytest.approx(expected), text


def test_an_index_past_the_history_is_an_error() -> None:
    with pytest.raises(DynamicValueUnavailable, match=r"4 runs back; last\(3\) holds 3") as info:
        evaluate_expression(_expr("index(last(3), 3)"), [1.0, 2.0, 3.0, 4.0])
    assert info.value.kind == "index"
    with pytest.raises(DynamicValueUnavailable, match="only 2 earlier run") as info:
        evaluate_expression(_expr("index(last(5), 3)"), [1.0, 2.0], when_empty=0.0)
    assert (info.value.kind, info.value.available) == ("index", 2)


def test_no_history_is_unavailable_unless_glues_default_is_asked_for() -> None:
    expr = _expr("avg(last(10)) * 0.9")
    with pytest.raises(DynamicValueUnavailable, match="no earlier run") as info:
        evaluate_expression(expr, [])
    assert (info.value.kind, info.value.available) == ("no_history", 0)
    assert isinstance(info.value, TideboxError)
    assert evaluate_expression(expr, [], when_empty=GLUE_EMPTY_HISTORY) == 0.0
    assert evaluate_expression(_expr("index(last(3), 0) + 1"), [], when_empty=0.0) == 1.0


def test_last_alone_is_the_latest_value_and_a_list_is_refused() -> None:
    assert evaluate_expression(_expr("last()"), [7.0, 8.0]) == 7.0  # Glue's RowCount > last()
    assert evaluate_expression(_expr("last(1)"), [7.0, 8.0]) == 7.0
    assert evaluate_expression(_expr("abs(avg(last(2)) - 10)"), [7.0, 8.0]) == 2.5
    assert evaluate_expression(FunctionCall("last", ()), [7.0, 8.0]) == 7.0
    assert evaluate_expression(FunctionCall("last", (1,)), [7.0, 8.0]) == 7.0
    assert evaluate_expression(FunctionCall("abs", (_expr("-max(last(2))"),)), [7.0, 8.0]) == 8
    with pytest.raises(TideboxError, match=r"reduce it, as in avg\(last\(3\)\)"):
        evaluate_expression(FunctionCall("last", (3,)), [7.0, 8.0])


def test_conditions_are_resolved_and_written_back() -> None:
    history = [30.0, 10.0, 20.0]
    between = _rule('Mean "temperature" between min(last(3)) - 1 and max(last(3)) + 1')
    assert between.condition is not None
    resolved = resolve_condition(between.condition, history)
    assert render_rule(between, resolved) == 'Mean "temperature" between 9.0 and 31.0'
    assert evaluated_rule(between, history) == 'Mean "temperature" between 9.0 and 31.0'
    mean = _rule('Mean "t" >= avg(last(3)) - 2 * stdev(last(3)) where "device_id = \'d1\'"')
    low = 20 - 2 * math.sqrt(200 / 3)
    assert evaluated_rule(mean, history) == f'Mean "t" >= {low:.12g} where "device_id = \'d1\'"'
    threshold = _rule('ColumnValues "x" > 3 with threshold > avg(last(2)) labels=["a"="b"]')
    assert evaluated_rule(threshold, [], [0.9, 0.7]) == 'ColumnValues "x" > 3 with threshold > 0.8'
    static = _rule('ColumnValues "x" in [1, NULL, -2.5]')
    assert evaluated_rule(static, []) == 'ColumnValues "x" in [1, NULL, -2.5]'


def test_rules_written_back_parse_to_the_same_rules() -> None:
    rules = [
        'ColumnValues "a" not between -3 and 5.5',
        'ColumnValues "b" matches "[a-z]+\\\\d"',
        'ColumnValues "c" not in ["x", EMPTY, WHITESPACES_ONLY]',
        'DataFreshness "t" <= 24 hours',
        'ColumnValues "d" > (now() - 3 days)',
        'ColumnValues "e" <= "2026-01-31"',
        'FileSize "s3://b/p" < 10 MB',
        "RowCount > avg(last(10)) - (max(last(3)) - min(last(3))) / 2",
        "RowCount between -avg(last(2)) and 2 * (index(last(4), 1) + 1)",
        'DetectAnomalies "Completeness" "device_id"',
        'CustomSql "select count(*) from primary where a = \\"q\\"" > 3',
    ]
    for text in rules:
        rule = _rule(text)
        again = _rule(render_rule(rule))
        assert (again.type, again.parameters, again.condition) == (
            rule.type,
            rule.parameters,
            rule.condition,
        ), text
