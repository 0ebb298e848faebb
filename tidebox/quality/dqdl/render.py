"""DQDL text from the parsed model: a rule written back, for Glue's ``EvaluatedRule``.

Glue reports each rule twice: ``Description`` as written, and ``EvaluatedRule`` with its
variables and dynamic values filled in (``RowCount > 950.0`` for ``RowCount >
avg(last(10)) * 0.9``). :func:`render_rule` writes the second form from a :class:`Rule` whose
variables the parser already resolved; dynamic operands are written as expressions unless the
caller hands in conditions with them computed (:mod:`.dynamic` does). Labels are left out: Glue
reports them in their own field.
"""

from __future__ import annotations

from tidebox.quality.dqdl.model import (
    Between,
    BinaryOp,
    Compare,
    Condition,
    DateLiteral,
    Duration,
    FunctionCall,
    InList,
    Keyword,
    Matches,
    Negate,
    Now,
    Operand,
    Rule,
    Size,
)


def render_rule(
    rule: Rule, condition: Condition | None = None, threshold: Condition | None = None
) -> str:
    """The rule as DQDL, with ``condition``/``threshold`` in place of its own when given."""
    parts = [rule.type, *(quote(p) for p in rule.parameters)]
    shown = condition if condition is not None else rule.condition
    if shown is not None:
        parts.append(render_condition(shown))
    if rule.where is not None:
        parts.append(f"where {quote(rule.where)}")
    limit = threshold if threshold is not None else rule.threshold
    if limit is not None:
        parts.append(f"with threshold {render_condition(limit)}")
    return " ".join(parts)


def render_condition(condition: Condition) -> str:
    """``> 950.0``, ``between 1 and 5``, ``not in ["a", NULL]``, ``matches "x"``."""
    if isinstance(condition, Compare):
        return f"{condition.op} {render_operand(condition.value)}"
    negation = "not " if condition.negated else ""
    if isinstance(condition, Between):
        low, high = render_operand(condition.low), render_operand(condition.high)
        return f"{negation}between {low} and {high}"
    if isinstance(condition, InList):
        return f"{negation}in [{', '.join(render_operand(v) for v in condition.values)}]"
    if isinstance(condition, Matches):
        return f"{negation}matches {quote(condition.pattern)}"
    raise TypeError(f"not a DQDL condition: {condition!r}")  # pragma: no cover


def render_operand(value: Operand) -> str:
    """One operand as DQDL writes it; an expression with the parentheses it needs."""
    if isinstance(value, bool):  # pragma: no cover - the parser makes no booleans
        raise TypeError(f"not a DQDL operand: {value!r}")
    if isinstance(value, int | float):
        return number(value)
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, Keyword):
        return value.name
    if isinstance(value, DateLiteral):
        return quote(value.text)
    if isinstance(value, Duration):
        return f"{value.amount} {value.unit}"
    if isinstance(value, Size):
        return f"{value.amount} {value.unit}"
    if isinstance(value, Now):
        if value.offset is None:
            return "now()"
        sign = "-" if value.offset.amount < 0 else "+"
        return f"(now() {sign} {abs(value.offset.amount)} {value.offset.unit})"
    return _expression(value, 0)


_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}


def _expression(value: int | float | FunctionCall | BinaryOp | Negate, outer: int) -> str:
    if isinstance(value, int | float):
        text = number(value)
        return f"({text})" if value < 0 and outer else text
    if isinstance(value, FunctionCall):
        return f"{value.name}({', '.join(_expression(a, 0) for a in value.args)})"
    if isinstance(value, Negate):
        return f"-{_expression(value.operand, 3)}"
    precedence = _PRECEDENCE[value.op]
    # a right operand of equal precedence needs parentheses: a - (b - c), a / (b * c)
    text = (
        f"{_expression(value.left, precedence)} {value.op} "
        f"{_expression(value.right, precedence + 1)}"
    )
    return f"({text})" if precedence < outer else text


def number(value: int | float) -> str:
    """An int as written; a float to 12 significant digits, always with a decimal point or an
    exponent (``950.0``, ``99.0`` for 99.00000000000001, ``1.5e-07``), so it reads as the
    number it was and not as float noise."""
    if isinstance(value, int):
        return str(value)
    if value != value or value in (float("inf"), float("-inf")):
        return repr(value)
    text = f"{value:.12g}"
    return text if any(c in text for c in ".en") else f"{text}.0"


def quote(text: str) -> str:
    """A DQDL string: in double quotes, with ``\\`` and ``"`` escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
