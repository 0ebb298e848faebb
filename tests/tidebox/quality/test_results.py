"""Glue Data Quality's result shape: the score, the V2 aggregates, and GE suites in it."""

from __future__ import annotations

from datetime import UTC, datetime

from tidebox.quality.results import QualityResult, RowCounts, RuleResult, result_document
from tidebox.quality.suites import CheckResult, ExpectationOutcome

T0 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
T1 = datetime(2026, 11, 30, 10, 0, 2, tzinfo=UTC)


def test_score_counts_errors_as_not_passed() -> None:
    rules = tuple(
        RuleResult(f"Rule_{n}", f"RowCount > {n}", result)
        for n, result in enumerate(["PASS", "PASS", "FAIL", "ERROR"], start=1)
    )
    result = QualityResult("r", "t", T0, T1, rules, rows=RowCounts(10, 7, 3))
    assert result.score == 0.5 and not result.passed
    document = result_document(result)
    assert document["Score"] == 0.5
    assert document["AggregatedMetrics"] == {
        "TotalRulesProcessed": 4.0,
        "TotalRulesPassed": 2.0,
        "TotalRulesFailed": 1.0,
        "TotalRowsProcessed": 10.0,
        "TotalRowsPassed": 7.0,
        "TotalRowsFailed": 3.0,
    }
    first = document["RuleResults"][0]
    assert set(first) == {
        "Name",
        "Description",
        "EvaluationMessage",
        "Result",
        "EvaluatedMetrics",
        "EvaluatedRule",
        "Labels",
    }
    assert QualityResult("r", "t", T0, T1, ()).score == 1.0


def test_a_great_expectations_run_in_glues_shape() -> None:
    checked = CheckResult(
        suite="sensor_readings",
        rows=100,
        outcomes=(
            ExpectationOutcome("expect_column_to_exist", "device_id", True, "ok"),
            ExpectationOutcome(
                "expect_column_values_to_be_between",
                "battery",
                False,
                "3 of 100 values unexpected",
                metrics={"unexpected_count": 3.0, "element_count": 100.0},
            ),
            ExpectationOutcome(
                "expect_column_to_exist", "gone", False, "error: no column", errored=True
            ),
        ),
    )
    result = checked.as_quality_result("sensor_readings", T0, T1)
    assert [r.result for r in result.rules] == ["PASS", "FAIL", "ERROR"]
    assert [r.name for r in result.rules] == ["Rule_1", "Rule_2", "Rule_3"]
    assert result.rules[1].description == "expect_column_values_to_be_between(battery)"
    assert result.rules[1].evaluated_metrics["unexpected_count"] == 3.0
    assert result.rules[1].evaluation_message == "3 of 100 values unexpected"
    assert result.kind == "great_expectations" and abs(result.score - 1 / 3) < 1e-12
