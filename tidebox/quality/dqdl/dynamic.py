"""Dynamic rules: the numbers of ``> avg(last(10)) * 0.9`` computed from a metric's history.

A dynamic rule compares this run's metric with the same metric in the table's earlier runs.
The history handed in is newest first, as :func:`~.history.metric_history` returns it, which
is the order of Glue's ``last(k)``:

- ``last(k)``: the latest ``k`` earlier values, or all of them when there are fewer than ``k``
  (Glue: "If fewer than k metrics are available, last(k) will return all prior metrics");
  on its own, ``last()``/``last(1)`` is the latest earlier value (``RowCount > last()``);
- ``avg``, ``median``, ``min``, ``max``, ``sum``, ``stdev``/``std`` reduce such a list to a
  number; ``std`` is the population standard deviation (divided by n, 0 for one value), as
  Glue's own StandardDeviation metric is (its reference's example: 0, 20, 40 give 16.33);
- ``index(last(k), i)`` is the ``i``-th most recent of them, from 0: ``index(last(3), 0)`` is
  the latest earlier value, ``index(last(3), 3)`` an error (Glue's own example);
- ``abs(x)``, ``+ - * /`` and ``-x`` as in arithmetic on doubles (``x / 0`` is infinite, and
  a comparison with NaN fails, as in Glue's Java).

Too little history. Glue documents that "if no data points are available, last(k) will return
the default value 0.0": on a table's first run ``RowCount > avg(last(10)) * 0.9`` is checked as
``RowCount > 0.0`` (so it passes for any rows) and ``RowCount < avg(last(3)) * 1.5`` as
``RowCount < 0.0`` (so it fails). An index beyond the values there are is an error. Here,
:func:`evaluate_expression` raises :class:`~tidebox.core.errors.DynamicValueUnavailable` in both
cases (``kind`` "no_history" or "index"), so the evaluator decides; to act as Glue, it passes
``when_empty=GLUE_EMPTY_HISTORY`` (last(k) is then ``[0.0]``) and reports an ``index`` error
as the rule's ERROR, with the exception's message as ``EvaluationMessage``.

:func:`resolve_condition` turns a condition's dynamic operands into numbers, and
:func:`evaluated_rule` writes the rule with them filled in, for ``EvaluatedRule``.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence

from tidebox.core.errors import DynamicValueUnavailable, TideboxError
from tidebox.quality.dqdl.model import (
    Between,
    BinaryOp,
    Compare,
    Condition,
    FunctionCall,
    InList,
    Negate,
    Operand,
    Rule,
    is_dynamic,
)
from tidebox.quality.dqdl.render import render_operand, render_rule

GLUE_EMPTY_HISTORY = 0.0
"""What Glue's ``last(k)`` gives when no earlier run has the metric."""

_REDUCERS: dict[str, Callable[[list[float]], float]] = {
    "avg": statistics.fmean,
    "median": statistics.median,
    "min": min,
    "max": max,
    "sum": math.fsum,
    "stdev": statistics.pstdev,
    "std": statistics.pstdev,
}

NumericExpr = int | float | FunctionCall | BinaryOp | Negate


def evaluate_expression(
    expr: NumericExpr, history: Sequence[float], *, when_empty: float | None = None
) -> float:
    """The value of a dynamic expression over ``history`` (newest first).

    With no history, ``last(k)`` raises :class:`DynamicValueUnavailable` (kind "no_history"),
    or, when ``when_empty`` is given, stands for ``[when_empty]`` (Glue: 0.0). An ``index``
    past the values there are raises it with kind "index"."""
    if isinstance(expr, bool):  # pragma: no cover - the parser makes no booleans
        raise TideboxError(f"not a number: {expr!r}")
    if isinstance(expr, int | float):
        return float(expr)
    if isinstance(expr, Negate):
        return -evaluate_expression(expr.operand, history, when_empty=when_empty)
    if isinstance(expr, BinaryOp):
        left = evaluate_expression(expr.left, history, when_empty=when_empty)
        right = evaluate_expression(expr.right, history, when_empty=when_empty)
        return _arithmetic(expr.op, left, right)
    return _call(expr, history, when_empty)


def resolve_condition(
    condition: Condition, history: Sequence[float], *, when_empty: float | None = None
) -> Condition:
    """``condition`` with every dynamic operand replaced by its number (others unchanged)."""

    def value(operand: Operand) -> Operand:
        if isinstance(operand, FunctionCall | BinaryOp | Negate) and is_dynamic(operand):
            return evaluate_expression(operand, history, when_empty=when_empty)
        return operand

    if isinstance(condition, Compare):
        return Compare(condition.op, value(condition.value))
    if isinstance(condition, Between):
        return Between(value(condition.low), value(condition.high), condition.negated)
    if isinstance(condition, InList):
        return InList(tuple(value(v) for v in condition.values), condition.negated)
    return condition


def evaluated_rule(
    rule: Rule,
    history: Sequence[float],
    threshold_history: Sequence[float] = (),
    *,
    when_empty: float | None = None,
) -> str:
    """The rule for Glue's ``EvaluatedRule``: variables and dynamic values filled in
    (``RowCount > 99.0`` for ``RowCount > avg(last(3)) * 0.9`` after 100, 110, 120).

    ``history`` is the condition's metric, ``threshold_history`` the threshold's (the share of
    rows that passed, for a ``with threshold > avg(last(5))``). Raises as
    :func:`evaluate_expression` does when a value cannot be computed."""
    condition = (
        resolve_condition(rule.condition, history, when_empty=when_empty)
        if rule.condition is not None
        else None
    )
    threshold = (
        resolve_condition(rule.threshold, threshold_history, when_empty=when_empty)
        if rule.threshold is not None
        else None
    )
    return render_rule(rule, condition, threshold)


def _call(call: FunctionCall, history: Sequence[float], when_empty: float | None) -> float:
    if call.name == "last":
        values = _last(call, history, when_empty)
        if _count(call) == 1:
            return values[0]
        raise TideboxError(
            f"{render_operand(call)} is a list of earlier values: reduce it, as in "
            f"avg({render_operand(call)})"
        )
    if call.name == "abs":
        (argument,) = call.args
        return abs(evaluate_expression(argument, history, when_empty=when_empty))
    if call.name == "index":
        listed, position = call.args
        if not isinstance(listed, FunctionCall) or not isinstance(position, int):
            raise TideboxError(f"index takes last(k) and a position: {render_operand(call)}")
        values = _last(listed, history, when_empty)
        if position >= len(values):
            k = _count(listed)
            there = f"last({k}) holds {len(values)} value(s)"
            if position < k:
                there += f": only {len(history)} earlier run(s) have this metric"
            raise DynamicValueUnavailable(
                "index",
                len(history),
                f"{render_operand(call)} asks for the value {position + 1} runs back; {there}",
            )
        return values[position]
    reducer = _REDUCERS.get(call.name)
    if reducer is None or len(call.args) != 1 or not isinstance(call.args[0], FunctionCall):
        raise TideboxError(f"unknown dynamic function: {render_operand(call)}")
    return float(reducer(_last(call.args[0], history, when_empty)))


def _last(call: FunctionCall, history: Sequence[float], when_empty: float | None) -> list[float]:
    if call.name != "last":
        raise TideboxError(f"expected last(k), got {render_operand(call)}")
    k = _count(call)
    if not history:
        if when_empty is None:
            raise DynamicValueUnavailable(
                "no_history",
                0,
                f"{render_operand(call)} has no value: no earlier run has this metric",
            )
        return [when_empty]
    return [float(v) for v in history[:k]]


def _count(call: FunctionCall) -> int:
    """k of last(k); 1 for last()."""
    if not call.args:
        return 1
    k = call.args[0]
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise TideboxError(f"last(k) takes a positive whole number: {render_operand(call)}")
    return k


def _arithmetic(op: str, left: float, right: float) -> float:
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    if right == 0.0:  # a double's division, as Glue's Java computes it
        return math.nan if left == 0.0 or math.isnan(left) else math.copysign(math.inf, left)
    return left / right
