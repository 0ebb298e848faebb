"""Rules about the whole table: RowCount, ColumnCount, ColumnExists, ColumnNamesMatchPattern and
CustomSql.

Metric names are Glue's: ``Dataset.*.RowCount``, ``Dataset.*.ColumnCount``,
``Dataset.*.CustomSQL`` (a statement returning one number) and ``Dataset.*.CustomSQL.Compliance``
(a statement returning rows: the share of the table's rows it returns, which pass). In CustomSql
``primary`` names the table as the run sees it (its ``--where`` applied).
"""

from __future__ import annotations

import re

from tidebox.core.errors import DqdlRuleError
from tidebox.lake.sql import quote
from tidebox.quality.dqdl.model import Rule
from tidebox.quality.dqdl.outcome import (
    Context,
    Handler,
    Outcome,
    Planned,
    judge,
    judge_all,
    number,
    rows_key,
)
from tidebox.quality.dqdl.plan import BASE
from tidebox.quality.dqdl.predicates import metric_passes


def row_count(rule: Rule, ctx: Context) -> Planned:
    key = rows_key(ctx, rule.where)
    return Planned(lambda: judge("Dataset.*.RowCount", number(ctx.plan.value(key)), rule.condition))


def column_count(rule: Rule, ctx: Context) -> Planned:
    count = float(len(ctx.info.columns))
    return Planned(lambda: judge("Dataset.*.ColumnCount", count, rule.condition))


def column_exists(rule: Rule, ctx: Context) -> Planned:
    name = rule.parameters[0]
    try:
        ctx.info.column(name)
        failures = []
    except DqdlRuleError:
        failures = [f"Column {name} does not exist"]
    return Planned(lambda: judge_all({}, failures))


def column_names_match_pattern(rule: Rule, ctx: Context) -> Planned:
    try:
        pattern = re.compile(rule.parameters[0])
    except re.error as exc:
        raise DqdlRuleError(f"invalid regular expression: {exc}") from exc
    wrong = [c for c in ctx.info.columns if not pattern.fullmatch(c)]
    failures = [f"Columns that do not match the pattern: {', '.join(wrong)}"] if wrong else []
    return Planned(lambda: judge_all({}, failures))


PRIMARY = re.compile(r"\bprimary\b", re.IGNORECASE)


def custom_sql(rule: Rule, ctx: Context) -> Planned:
    statement = PRIMARY.sub(quote(BASE), rule.parameters[0]).strip().rstrip(";")
    if rule.condition is not None:
        key = ctx.plan.query(statement)

        def read_value() -> Outcome:
            rows = ctx.plan.value(key)
            if len(rows) != 1 or len(rows[0]) != 1:
                raise DqdlRuleError(
                    "CustomSql with a condition must return one value (1 row, 1 column)"
                )
            value = rows[0][0]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise DqdlRuleError(f"CustomSql returned {value!r}, not a number")
            return judge("Dataset.*.CustomSQL", float(value), rule.condition)

        return Planned(read_value)
    key = ctx.plan.query(f"SELECT count(*) FROM ({statement})")
    total = rows_key(ctx, None)

    def read_rows() -> Outcome:
        passed = int(ctx.plan.value(key)[0][0])
        rows = int(ctx.plan.value(total))
        ratio = passed / rows if rows else 1.0
        metrics = {"Dataset.*.CustomSQL.Compliance": ratio}
        ok = metric_passes(ratio, rule.threshold) if rule.threshold else ratio == 1.0
        if ok:
            return Outcome("PASS", "", metrics)
        return Outcome("FAIL", f"{ratio * 100:.2f}% of rows passed", metrics)

    return Planned(read_rows)


HANDLERS: dict[str, Handler] = {
    "RowCount": row_count,
    "ColumnCount": column_count,
    "ColumnExists": column_exists,
    "ColumnNamesMatchPattern": column_names_match_pattern,
    "CustomSql": custom_sql,
}
