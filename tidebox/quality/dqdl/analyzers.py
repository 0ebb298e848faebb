"""Analyzers: rules without conditions, whose metrics are reported and judged by nothing.

An analyzer of a rule type (``RowCount``, ``Completeness "x"``...) reports that rule's metrics.
``AllStatistics "x"`` reports the column's profile: Completeness, DistinctValuesCount, Entropy,
Uniqueness and UniqueValueRatio, and for a numeric column Mean, Sum, StandardDeviation,
Variance, Minimum and Maximum. Their expressions join the ruleset's one aggregate query.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

from tidebox.core.errors import DqdlRuleError
from tidebox.lake.sql import quote
from tidebox.quality.dqdl.model import Rule
from tidebox.quality.dqdl.outcome import Context, Handler, Outcome, Planned, filtered, number
from tidebox.quality.dqdl.predicates import family
from tidebox.quality.results import AnalyzerResult

_PROFILE = ("Completeness", "DistinctValuesCount", "Entropy", "Uniqueness", "UniqueValueRatio")
_NUMERIC = ("Mean", "Sum", "StandardDeviation", "Variance")


def plan_analyzer(
    rule: Rule, ctx: Context, handlers: Mapping[str, Handler]
) -> Callable[[], AnalyzerResult]:
    """Plan one analyzer; the returned function gives its result once the plan has run."""
    try:
        parts = _plan(rule, ctx, handlers)
    except DqdlRuleError as exc:
        message = str(exc)
        return lambda: AnalyzerResult(rule.type, rule.text, {}, message)

    def read() -> AnalyzerResult:
        metrics: dict[str, float] = {}
        errors = []
        for part in parts:
            try:
                outcome = part.read()
            except DqdlRuleError as exc:
                errors.append(str(exc))
                continue
            metrics |= outcome.metrics
        return AnalyzerResult(rule.type, rule.text, metrics, "; ".join(errors))

    return read


def _plan(rule: Rule, ctx: Context, handlers: Mapping[str, Handler]) -> list[Planned]:
    plain = replace(rule, condition=None, threshold=None)
    if rule.type != "AllStatistics":
        handler = handlers.get(rule.type)
        if handler is None:
            raise DqdlRuleError(f"Analyzer {rule.type} is not supported yet")
        return [handler(plain, ctx)]
    column = ctx.info.column(rule.parameters[0])
    types = _PROFILE + (_NUMERIC if family(ctx.info.columns[column]) == "number" else ())
    parts = [handlers[t](replace(plain, type=t, parameters=(column,)), ctx) for t in types]
    if family(ctx.info.columns[column]) == "number":
        for metric, function in (("Minimum", "min"), ("Maximum", "max")):
            key = ctx.plan.aggregate(filtered(f"{function}({quote(column)})", rule.where))
            parts.append(Planned(_metric(ctx, f"Column.{column}.{metric}", key)))
    return parts


def _metric(ctx: Context, name: str, key: str) -> Callable[[], Outcome]:
    def read() -> Outcome:
        value = number(ctx.plan.value(key))
        return Outcome("PASS", "", {} if value is None else {name: value})

    return read
