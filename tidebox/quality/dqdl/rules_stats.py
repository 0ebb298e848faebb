"""Rules whose metric is a statistic of columns: completeness, uniqueness and its kin, and the
numeric aggregates.

How each metric is computed (Deequ's definitions, which Glue runs), among the rows the rule's
``where`` selects:

- Completeness: the share of rows whose value is not NULL (IsComplete: all of them).
- Uniqueness: the share of rows whose value occurs exactly once (IsUnique: 1.0); for several
  columns, of their combined value. UniqueValueRatio: values occurring once over distinct
  values. DistinctValuesCount: distinct non-null values. Entropy: ``-sum(p ln p)`` with ``p``
  a value's count over the rows. Rows where the column(s) are all NULL are not counted as values.
- IsPrimaryKey: every column complete, and the combination unique.
- Mean, Sum, StandardDeviation and Variance (population, as Deequ's) of the non-null values;
  ColumnCorrelation: Pearson's coefficient of two numeric columns.

Completeness, the numeric aggregates, DistinctValuesCount and ColumnCorrelation are expressions
of the ruleset's one aggregate query; the uniqueness family shares one GROUP BY per column set.

Row-level outcomes (Glue's): Completeness and IsComplete mark a row passed when its value is not
NULL; Uniqueness, IsUnique and IsPrimaryKey when its value occurs once (IsPrimaryKey: and no
column is NULL), counted by a join to the value counts (:mod:`.rowtests`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from tidebox.core.errors import DqdlRuleError
from tidebox.lake.sql import quote
from tidebox.quality.dqdl.model import Rule
from tidebox.quality.dqdl.outcome import (
    Context,
    Handler,
    Outcome,
    Planned,
    filtered,
    judge,
    judge_all,
    number,
    rows_key,
)
from tidebox.quality.dqdl.plan import Frequencies
from tidebox.quality.dqdl.predicates import family
from tidebox.quality.dqdl.rowtests import unique_rows, within


def _completeness_key(ctx: Context, column: str, where: str | None) -> tuple[str, str]:
    return (
        ctx.plan.aggregate(filtered(f"count({quote(column)})", where)),
        rows_key(ctx, where),
    )


def _share(ctx: Context, keys: tuple[str, str]) -> float | None:
    part, total = (int(ctx.plan.value(k)) for k in keys)
    return part / total if total else None


def completeness(rule: Rule, ctx: Context) -> Planned:
    column = ctx.info.column(rule.parameters[0])
    keys = _completeness_key(ctx, column, rule.where)
    metric = f"Column.{column}.Completeness"
    rows = within(rule.where, f"{quote(column)} IS NOT NULL")
    return Planned(lambda: judge(metric, _share(ctx, keys), rule.condition), rows)


def is_complete(rule: Rule, ctx: Context) -> Planned:
    column = ctx.info.column(rule.parameters[0])
    keys = _completeness_key(ctx, column, rule.where)
    metric = f"Column.{column}.Completeness"

    def read() -> Outcome:
        share = _share(ctx, keys)
        if share is None or share == 1.0:
            return judge_all({metric: share}, [])
        return judge_all(
            {metric: share}, [f"Value: {share:.6g} does not meet the constraint requirement!"]
        )

    return Planned(read, within(rule.where, f"{quote(column)} IS NOT NULL"))


def _columns(rule: Rule, ctx: Context) -> tuple[str, ...]:
    return tuple(ctx.info.column(c) for c in rule.parameters)


def _uniqueness_metric(columns: tuple[str, ...]) -> str:
    if len(columns) == 1:
        return f"Column.{columns[0]}.Uniqueness"
    return f"Multicolumn.{','.join(columns)}.Uniqueness"


def _frequency_reader(
    rule: Rule, ctx: Context, columns: tuple[str, ...]
) -> Callable[[], tuple[Frequencies, int]]:
    freq = ctx.plan.frequencies(columns, rule.where)
    total = rows_key(ctx, rule.where)
    return lambda: (ctx.plan.value(freq), int(ctx.plan.value(total)))


def uniqueness(rule: Rule, ctx: Context) -> Planned:
    columns = _columns(rule, ctx)
    read = _frequency_reader(rule, ctx, columns)

    def outcome() -> Outcome:
        freq, rows = read()
        return judge(
            _uniqueness_metric(columns), freq.unique / rows if rows else None, rule.condition
        )

    test, join = unique_rows(columns, rule.where)
    return Planned(outcome, test, (join,))


def is_unique(rule: Rule, ctx: Context) -> Planned:
    columns = _columns(rule, ctx)
    read = _frequency_reader(rule, ctx, columns)

    def outcome() -> Outcome:
        freq, rows = read()
        share = freq.unique / rows if rows else None
        failed = share is not None and share != 1.0
        message = (
            [f"Value: {share:.6g} does not meet the constraint requirement!"] if failed else []
        )
        return judge_all({_uniqueness_metric(columns): share}, message)

    test, join = unique_rows(columns, rule.where)
    return Planned(outcome, test, (join,))


def is_primary_key(rule: Rule, ctx: Context) -> Planned:
    columns = _columns(rule, ctx)
    read = _frequency_reader(rule, ctx, columns)
    complete = {c: _completeness_key(ctx, c, rule.where) for c in columns}

    def outcome() -> Outcome:
        metrics: dict[str, float | None] = {}
        failures = []
        for column, keys in complete.items():
            share = metrics[f"Column.{column}.Completeness"] = _share(ctx, keys)
            if share is not None and share != 1.0:
                failures.append(f"{column} has NULL values (completeness {share:.6g})")
        freq, rows = read()
        unique = metrics[_uniqueness_metric(columns)] = freq.unique / rows if rows else None
        if unique is not None and unique != 1.0:
            failures.append(f"values are not unique (uniqueness {unique:.6g})")
        return judge_all(metrics, failures)

    unique, join = unique_rows(columns, rule.where)
    present = " AND ".join(f"{quote(c)} IS NOT NULL" for c in columns)
    return Planned(outcome, f"({within(rule.where, present)} AND {unique})", (join,))


def unique_value_ratio(rule: Rule, ctx: Context) -> Planned:
    column = ctx.info.column(rule.parameters[0])
    read = _frequency_reader(rule, ctx, (column,))

    def outcome() -> Outcome:
        freq, _ = read()
        ratio = freq.unique / freq.distinct if freq.distinct else None
        return judge(f"Column.{column}.UniqueValueRatio", ratio, rule.condition)

    return Planned(outcome)


def entropy(rule: Rule, ctx: Context) -> Planned:
    column = ctx.info.column(rule.parameters[0])
    read = _frequency_reader(rule, ctx, (column,))

    def outcome() -> Outcome:
        freq, rows = read()
        value = (math.log(rows) * freq.rows - freq.n_log_n) / rows if rows else None
        return judge(f"Column.{column}.Entropy", value, rule.condition)

    return Planned(outcome)


def distinct_values_count(rule: Rule, ctx: Context) -> Planned:
    column = ctx.info.column(rule.parameters[0])
    key = ctx.plan.aggregate(filtered(f"count(DISTINCT {quote(column)})", rule.where))
    metric = f"Column.{column}.DistinctValuesCount"
    return Planned(lambda: judge(metric, number(ctx.plan.value(key)), rule.condition))


def _numeric(ctx: Context, name: str, rule_type: str) -> str:
    column = ctx.info.column(name)
    kind = ctx.info.columns[column]
    if family(kind) != "number":
        raise DqdlRuleError(f"{rule_type} needs a numeric column; {column} is {kind}")
    return column


def _aggregate_rule(rule_type: str, function: str) -> Handler:
    def handler(rule: Rule, ctx: Context) -> Planned:
        column = _numeric(ctx, rule.parameters[0], rule_type)
        key = ctx.plan.aggregate(filtered(f"{function}({quote(column)})", rule.where))
        metric = f"Column.{column}.{rule_type}"
        return Planned(lambda: judge(metric, number(ctx.plan.value(key)), rule.condition))

    return handler


def column_correlation(rule: Rule, ctx: Context) -> Planned:
    first = _numeric(ctx, rule.parameters[0], "ColumnCorrelation")
    second = _numeric(ctx, rule.parameters[1], "ColumnCorrelation")
    key = ctx.plan.aggregate(filtered(f"corr({quote(first)}, {quote(second)})", rule.where))
    metric = f"Multicolumn.{first},{second}.ColumnCorrelation"
    return Planned(lambda: judge(metric, number(ctx.plan.value(key)), rule.condition))


HANDLERS: dict[str, Handler] = {
    "Completeness": completeness,
    "IsComplete": is_complete,
    "Uniqueness": uniqueness,
    "IsUnique": is_unique,
    "IsPrimaryKey": is_primary_key,
    "UniqueValueRatio": unique_value_ratio,
    "Entropy": entropy,
    "DistinctValuesCount": distinct_values_count,
    "Mean": _aggregate_rule("Mean", "avg"),
    "Sum": _aggregate_rule("Sum", "sum"),
    "StandardDeviation": _aggregate_rule("StandardDeviation", "stddev_pop"),
    "Variance": _aggregate_rule("Variance", "var_pop"),
    "ColumnCorrelation": column_correlation,
}
