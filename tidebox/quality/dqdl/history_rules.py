"""The rules that read earlier runs: dynamic conditions and DetectAnomalies.

Both first measure their metric as the static rule would (the handler planned with a
condition every value meets, so the metric joins the run's one scan), then judge it against
the metric's recorded values for the same table and ruleset (:mod:`.history`, most recent
first):

- a dynamic rule (``RowCount > avg(last(10)) * 0.9``) has its expressions computed from those
  values (:mod:`.dynamic`; with no earlier run, Glue's ``last(k)`` is 0.0), and its
  ``EvaluatedRule`` shows the numbers it was checked against;
- ``DetectAnomalies "RowCount"`` (or ``"Completeness" "col"``, any rule type with its
  parameters) passes unless the value falls outside the band :mod:`.anomalies` expects from
  the history; with fewer earlier runs than it needs, it passes and says so.

A dynamic ``with threshold`` is not built: that rule is ERROR and says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from tidebox.core.errors import DqdlRuleError, DynamicValueUnavailable
from tidebox.core.settings import Settings
from tidebox.quality.dqdl.anomalies import detect_anomaly
from tidebox.quality.dqdl.dynamic import GLUE_EMPTY_HISTORY, evaluated_rule, resolve_condition
from tidebox.quality.dqdl.history import metric_history
from tidebox.quality.dqdl.model import Compare, Rule, is_dynamic
from tidebox.quality.dqdl.outcome import Context, Handler, Outcome, Planned
from tidebox.quality.dqdl.predicates import metric_passes

ANY_VALUE = Compare(">=", -math.inf)


@dataclass(frozen=True)
class RunScope:
    """Whose history a rule reads: the table and ruleset of this run."""

    settings: Settings
    table: str
    ruleset: str


def _only_metric(rule: Rule, outcome: Outcome) -> tuple[str, float]:
    if len(outcome.metrics) != 1:
        raise DqdlRuleError(
            f"{rule.type} reports {len(outcome.metrics)} metrics: a rule over earlier results "
            "needs exactly one"
        )
    [(name, value)] = outcome.metrics.items()
    return name, value


def plan_dynamic(rule: Rule, ctx: Context, handler: Handler, scope: RunScope) -> Planned:
    """A dynamic rule planned; its outcome carries the rule with the numbers filled in."""
    if is_dynamic(rule.threshold):
        raise DqdlRuleError("a dynamic 'with threshold' is not supported yet")
    base = rule.condition
    if base is None:
        raise DqdlRuleError(f"{rule.type} has no condition to compare with earlier results")
    measured = handler(replace(rule, condition=ANY_VALUE), ctx)

    def read() -> Outcome:
        outcome = measured.read()
        if outcome.result == "ERROR":
            return outcome
        name, value = _only_metric(rule, outcome)
        history = metric_history(scope.settings, scope.table, name, scope.ruleset)
        try:
            condition = resolve_condition(base, history, when_empty=GLUE_EMPTY_HISTORY)
            shown = evaluated_rule(rule, history, when_empty=GLUE_EMPTY_HISTORY)
        except DynamicValueUnavailable as exc:
            return Outcome("ERROR", str(exc), outcome.metrics)
        if metric_passes(value, condition):
            return Outcome("PASS", "", outcome.metrics, evaluated_rule=shown)
        return Outcome(
            "FAIL",
            f"Value: {value:g} does not meet the constraint requirement! ({shown}, from "
            f"{len(history)} earlier run(s))",
            outcome.metrics,
            evaluated_rule=shown,
        )

    return Planned(read)


def plan_detect_anomalies(
    rule: Rule, ctx: Context, handlers: dict[str, Handler], scope: RunScope
) -> Planned:
    """``DetectAnomalies "Metric" params...``: the metric measured as that rule type measures it,
    judged against its own history."""
    if not rule.parameters:
        raise DqdlRuleError('DetectAnomalies needs the rule type of its metric, e.g. "RowCount"')
    kind, *parameters = rule.parameters
    handler = handlers.get(kind)
    if handler is None:
        raise DqdlRuleError(f"DetectAnomalies: rule type {kind} is not supported")
    inner = replace(
        rule, type=kind, parameters=tuple(parameters), condition=ANY_VALUE, threshold=None
    )
    measured = handler(inner, ctx)

    def read() -> Outcome:
        outcome = measured.read()
        if outcome.result == "ERROR":
            return outcome
        name, value = _only_metric(inner, outcome)
        history = metric_history(scope.settings, scope.table, name, scope.ruleset)
        verdict = detect_anomaly(history, value)
        metrics = dict(outcome.metrics)
        if not verdict.ready:
            return Outcome("PASS", verdict.reason, metrics)
        if verdict.expected_low is not None and verdict.expected_high is not None:
            metrics[f"{name}.ExpectedLowerBound"] = verdict.expected_low
            metrics[f"{name}.ExpectedUpperBound"] = verdict.expected_high
        return Outcome("FAIL" if verdict.is_anomaly else "PASS", verdict.reason, metrics)

    return Planned(read)
