"""Row-level rules: ColumnValues, ColumnLength, ColumnDataType and DataFreshness.

Each counts, in the ruleset's one aggregate query, the rows that meet its condition; the rule
passes when all of them do, or, ``with threshold``, when their share meets the threshold. Glue's
metrics: ``Column.<c>.ColumnValues.Compliance`` (with ``Minimum``/``Maximum`` for a numeric
comparison), ``Column.<c>.LengthCompliance`` (with ``MinimumLength``/``MaximumLength``),
``Column.<c>.ColumnDataType.Compliance`` and ``Column.<c>.DataFreshness.Compliance``.

Every one but ColumnDataType marks rows passed or failed (Glue's row-level outcomes).

A NULL value fails a condition unless the condition names NULL. DataFreshness compares a value's
age in hours (the run's ``now()`` minus the value) with the durations of its condition.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace

from tidebox.core.errors import DqdlRuleError
from tidebox.lake.sql import quote
from tidebox.quality.dqdl.model import (
    Between,
    Compare,
    Condition,
    DateLiteral,
    Duration,
    InList,
    Matches,
    Now,
    Operand,
    Rule,
)
from tidebox.quality.dqdl.outcome import Context, Handler, Planned, compliance
from tidebox.quality.dqdl.predicates import family, predicate


def _operands(condition: Condition) -> tuple[Operand, ...]:
    if isinstance(condition, Compare):
        return (condition.value,)
    if isinstance(condition, Between):
        return (condition.low, condition.high)
    if isinstance(condition, InList):
        return condition.values
    return ()


def _condition(rule: Rule) -> Condition:
    if rule.condition is None:
        raise DqdlRuleError(f"{rule.type} needs a condition")
    return rule.condition


def column_values(rule: Rule, ctx: Context) -> Planned:
    column = ctx.info.column(rule.parameters[0])
    condition = _condition(rule)
    kind = family(ctx.info.columns[column])
    expr = quote(column)
    if kind == "string" and any(isinstance(v, Now) for v in _operands(condition)):
        expr, kind = f"TRY_CAST({expr} AS TIMESTAMPTZ)", "temporal"  # dates written as text
    if isinstance(condition, Matches) and kind not in ("string", "other"):
        raise DqdlRuleError(
            f"matches needs a string column; {column} is {ctx.info.columns[column]}"
        )
    extra: dict[str, str] = {}
    if kind == "number" and isinstance(condition, Compare) and rule.threshold is None:
        extra = {
            f"Column.{column}.Minimum": f"min({expr})",
            f"Column.{column}.Maximum": f"max({expr})",
        }
    passing = predicate(expr, kind, condition, ctx.info.now)
    return compliance(rule, ctx, f"Column.{column}.ColumnValues.Compliance", passing, extra)


def column_length(rule: Rule, ctx: Context) -> Planned:
    column = ctx.info.column(rule.parameters[0])
    if family(ctx.info.columns[column]) != "string":
        raise DqdlRuleError(
            f"ColumnLength needs a string column; {column} is {ctx.info.columns[column]}"
        )
    length = f"length({quote(column)})"
    passing = predicate(length, "number", _condition(rule), ctx.info.now)
    extra = {
        f"Column.{column}.MinimumLength": f"min({length})",
        f"Column.{column}.MaximumLength": f"max({length})",
    }
    return compliance(rule, ctx, f"Column.{column}.LengthCompliance", passing, extra)


# Glue's type names, the DuckDB type a string value must cast to, and the column types that are it
_DATA_TYPES: dict[str, tuple[str, tuple[str, ...]]] = {
    "BOOLEAN": ("BOOLEAN", ("BOOLEAN",)),
    "INTEGER": ("INTEGER", ("TINYINT", "SMALLINT", "INTEGER", "UTINYINT", "USMALLINT")),
    "LONG": (
        "BIGINT",
        ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER"),
    ),
    "FLOAT": ("FLOAT", ("FLOAT", "REAL")),
    "DOUBLE": ("DOUBLE", ("DOUBLE", "FLOAT", "REAL", "DECIMAL")),
    "DATE": ("DATE", ("DATE",)),
    "TIMESTAMP": (
        "TIMESTAMP",
        ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S"),
    ),
    "STRING": ("VARCHAR", ("VARCHAR",)),
}


_INTEGERS = frozenset(
    ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER")
)


def _type_names(condition: Condition) -> tuple[tuple[str, ...], bool]:
    if isinstance(condition, Compare) and condition.op in ("=", "!="):
        values: tuple[Operand, ...] = (condition.value,)
        negated = condition.op == "!="
    elif isinstance(condition, InList):
        values, negated = condition.values, condition.negated
    else:
        raise DqdlRuleError("ColumnDataType compares with = or in [...]")
    names = []
    for value in values:
        text = value.text if isinstance(value, DateLiteral) else value
        if not isinstance(text, str) or text.upper() not in _DATA_TYPES:
            raise DqdlRuleError(f"unknown data type {value!r} (known: {', '.join(_DATA_TYPES)})")
        names.append(text.upper())
    return tuple(names), negated


def column_data_type(rule: Rule, ctx: Context) -> Planned:
    column = ctx.info.column(rule.parameters[0])
    native = ctx.info.columns[column].upper()
    names, negated = _type_names(_condition(rule))
    tests = []
    for name in names:
        cast, natives = _DATA_TYPES[name]
        if native.split("(")[0] in natives:
            tests.append("true")
        elif family(native) == "string" or (name in ("INTEGER", "LONG") and native in _INTEGERS):
            tests.append(f"TRY_CAST({quote(column)} AS {cast}) IS NOT NULL")  # by its values
    test = " OR ".join(tests) if tests else "false"
    if negated:
        test = f"NOT ({test})"
    passing = f"({quote(column)} IS NULL OR coalesce({test}, false))"
    planned = compliance(rule, ctx, f"Column.{column}.ColumnDataType.Compliance", passing)
    return replace(planned, rows=None)  # not row-level in Glue: it does not mark rows


def _in_hours(condition: Condition) -> Condition:
    def hours(value: Operand) -> Operand:
        return value.seconds / 3600 if isinstance(value, Duration) else value

    if isinstance(condition, Compare):
        return replace(condition, value=hours(condition.value))
    if isinstance(condition, Between):
        return replace(condition, low=hours(condition.low), high=hours(condition.high))
    if isinstance(condition, InList):
        return replace(condition, values=tuple(hours(v) for v in condition.values))
    raise DqdlRuleError("DataFreshness compares durations")


def data_freshness(rule: Rule, ctx: Context) -> Planned:
    column = ctx.info.column(rule.parameters[0])
    kind = family(ctx.info.columns[column])
    if kind not in ("temporal", "string"):
        raise DqdlRuleError(
            f"DataFreshness needs a date or timestamp column; "
            f"{column} is {ctx.info.columns[column]}"
        )
    native = ctx.info.columns[column].upper()
    if native == "DATE" or (native.startswith("TIMESTAMP") and "TIME ZONE" not in native):
        # a naive date or timestamp is UTC's (the session's zone): no cast to TIMESTAMPTZ,
        # which goes through ICU row by row (200x the cost of the whole scan over 50M rows)
        value = f"CAST({quote(column)} AS TIMESTAMP)"
        naive = ctx.info.now.astimezone(dt.UTC).replace(tzinfo=None)
        now, kind_sql = naive, "TIMESTAMP"
    else:
        value = f"TRY_CAST({quote(column)} AS TIMESTAMPTZ)"
        now, kind_sql = ctx.info.now, "TIMESTAMPTZ"

    def cutoff(hours: Operand) -> str:
        instant = now - dt.timedelta(hours=float(hours))  # type: ignore[arg-type]
        return f"{kind_sql} '{instant.isoformat(sep=' ')}'"

    condition = _in_hours(_condition(rule))
    passing = _cutoff_test(value, condition, cutoff)
    if passing is None:  # anything else: the value's age in hours, row by row
        age = f"(epoch({kind_sql} '{now.isoformat(sep=' ')}' - {value}) / 3600.0)"
        passing = predicate(age, "number", condition, ctx.info.now)
    return compliance(rule, ctx, f"Column.{column}.DataFreshness.Compliance", passing)


_FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "!=": "<>"}


def _cutoff_test(value: str, condition: Condition, cutoff: Callable[[Operand], str]) -> str | None:
    """``age op h`` as ``value flipped-op (now - h)``: a comparison with a constant, which
    DuckDB runs at scan speed, where an age computed per row costs as much as the scan; None
    when the condition is not a comparison or range of numbers of hours."""

    def numeric(*operands: Operand) -> bool:
        return all(isinstance(o, int | float) and not isinstance(o, bool) for o in operands)

    if isinstance(condition, Compare) and numeric(condition.value):
        return f"coalesce({value} {_FLIPPED[condition.op]} {cutoff(condition.value)}, false)"
    if isinstance(condition, Between) and numeric(condition.low, condition.high):
        newest, oldest = cutoff(condition.low), cutoff(condition.high)
        if condition.negated:
            return f"coalesce({value} >= {newest} OR {value} <= {oldest}, false)"
        return f"coalesce({value} < {newest} AND {value} > {oldest}, false)"
    return None


HANDLERS: dict[str, Handler] = {
    "ColumnValues": column_values,
    "ColumnLength": column_length,
    "ColumnDataType": column_data_type,
    "DataFreshness": data_freshness,
}
