"""The outcome of a data-quality run in Glue Data Quality's shape (GetDataQualityResult).

Both kinds of check come out in it: a DQDL ruleset (one RuleResult per top-level rule, a
composite counting as one) and a Great Expectations suite (one per expectation). ``Score`` is
the share of rules that passed, as Glue computes it; the V2 aggregates count rules and, where
row-level outcomes were computed, rows. :func:`result_document` gives the JSON Glue's API
returns, member names and all, for ``tidebox check --format json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

RESULTS = ("PASS", "FAIL", "ERROR")


@dataclass(frozen=True)
class RuleResult:
    """One rule's outcome: Glue's DataQualityRuleResult."""

    name: str  # Rule_1, Rule_2, ... in ruleset order (Glue's naming)
    description: str  # the rule as written
    result: str  # PASS | FAIL | ERROR
    evaluation_message: str = ""  # why it failed or could not be evaluated; empty on PASS
    evaluated_metrics: dict[str, float] = field(default_factory=dict)
    evaluated_rule: str = ""  # the rule with its variables and dynamic values filled in
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AnalyzerResult:
    """One analyzer's metrics: Glue's DataQualityAnalyzerResult."""

    name: str
    description: str
    evaluated_metrics: dict[str, float] = field(default_factory=dict)
    evaluation_message: str = ""


@dataclass(frozen=True)
class RowCounts:
    """Rows processed, passed (every row-level rule passed) and failed."""

    processed: int
    passed: int
    failed: int


@dataclass(frozen=True)
class QualityResult:
    """A whole run: what was checked, when, and every rule's and analyzer's outcome."""

    ruleset: str  # the ruleset's or suite's name
    table: str
    started: datetime
    completed: datetime
    rules: tuple[RuleResult, ...]
    analyzers: tuple[AnalyzerResult, ...] = ()
    rows: RowCounts | None = None
    kind: str = "dqdl"  # dqdl | great_expectations
    bytes_scanned: int = 0  # what DuckDB read of the table's files for the whole run
    files_scanned: int = 0
    queries: int = 0  # statements run over the table (a DQDL run: 1 aggregate + the few others)

    @property
    def score(self) -> float:
        """The share of rules that passed (an ERROR counts as not passed), 1.0 for none."""
        return sum(r.result == "PASS" for r in self.rules) / len(self.rules) if self.rules else 1.0

    @property
    def passed(self) -> bool:
        """True when no rule failed (errors included: a rule that could not run did not pass)."""
        return all(r.result == "PASS" for r in self.rules)

    def count(self, result: str) -> int:
        return sum(r.result == result for r in self.rules)


def result_document(result: QualityResult) -> dict[str, Any]:
    """The run as Glue's GetDataQualityResult answer (JSON-ready)."""
    aggregated: dict[str, float] = {
        "TotalRulesProcessed": float(len(result.rules)),
        "TotalRulesPassed": float(result.count("PASS")),
        "TotalRulesFailed": float(result.count("FAIL")),
    }
    if result.rows is not None:
        aggregated |= {
            "TotalRowsProcessed": float(result.rows.processed),
            "TotalRowsPassed": float(result.rows.passed),
            "TotalRowsFailed": float(result.rows.failed),
        }
    return {
        "Score": result.score,
        "RulesetName": result.ruleset,
        "DataSource": {"GlueTable": {"DatabaseName": "tidebox", "TableName": result.table}},
        "StartedOn": result.started.isoformat(),
        "CompletedOn": result.completed.isoformat(),
        "RuleResults": [
            {
                "Name": r.name,
                "Description": r.description,
                "EvaluationMessage": r.evaluation_message,
                "Result": r.result,
                "EvaluatedMetrics": r.evaluated_metrics,
                "EvaluatedRule": r.evaluated_rule or r.description,
                "Labels": r.labels,
            }
            for r in result.rules
        ],
        "AnalyzerResults": [
            {
                "Name": a.name,
                "Description": a.description,
                "EvaluationMessage": a.evaluation_message,
                "EvaluatedMetrics": a.evaluated_metrics,
            }
            for a in result.analyzers
        ],
        "AggregatedMetrics": aggregated,
    }
