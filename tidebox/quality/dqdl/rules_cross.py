"""Rules across datasets: RowCountMatch, SchemaMatch, AggregateMatch, ReferentialIntegrity and
DatasetMatch, each comparing the checked table with a reference dataset named by alias
(:mod:`.sources`).

What each computes (Deequ's definitions, which Glue runs), with Glue's metric names:

- RowCountMatch "ref": the table's rows over the reference's (``Dataset.<ref>.RowCountMatch``).
- SchemaMatch "ref": the share of the table's columns the reference has with the same name and
  type; 0 when the column counts differ (``Dataset.<ref>.SchemaMatch``).
- AggregateMatch "sum(a)" "avg(ref.b)": the first aggregate over the second (1 when both are 0,
  0 when only the second is), ``sum`` or ``avg`` of a numeric column of the table or of
  ``alias.column`` (``Column.<a>.AggregateMatch``, or ``Column.<a>,<b>.AggregateMatch``).
- ReferentialIntegrity "a,b" "ref.{x,y}": the share of the table's rows whose values are among
  the reference's (a NULL never is) (``Column.<ref>.ReferentialIntegrity``).
- DatasetMatch "ref" "id->ref_id" ["amount->total"]: the share of the table's rows that have a
  row of the reference with the same key and equal values in the matched columns (all non-key
  columns, by name, when none are given; NULL equals NULL there); both keys must be unique
  (``Dataset.<ref>.DatasetMatch``).

The table's own aggregates (its row count, its sum) join the ruleset's one aggregate query; the
reference is read by a statement of the rule's own. ReferentialIntegrity and DatasetMatch are
row-level: a row passes when it has its match, by the same join the metric counts.
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
    number,
    rows_key,
)
from tidebox.quality.dqdl.plan import BASE
from tidebox.quality.dqdl.predicates import family, metric_passes
from tidebox.quality.dqdl.rowtests import SLOT, base_column, left_join
from tidebox.quality.dqdl.sources import PRIMARY, Dataset, dataset


def row_count_match(rule: Rule, ctx: Context) -> Planned:
    alias = rule.parameters[0]
    reference = dataset(ctx, alias)
    mine = rows_key(ctx, None)
    theirs = ctx.plan.query(f"SELECT count(*) FROM {reference.relation}")

    def read() -> Outcome:
        rows, other = int(ctx.plan.value(mine)), int(ctx.plan.value(theirs)[0][0])
        ratio = rows / other if other else None
        return judge(f"Dataset.{alias}.RowCountMatch", ratio, rule.condition)

    return Planned(read)


def schema_match(rule: Rule, ctx: Context) -> Planned:
    alias = rule.parameters[0]
    theirs = dataset(ctx, alias).columns
    mine = ctx.info.columns
    metric = f"Dataset.{alias}.SchemaMatch"
    if len(mine) != len(theirs):
        counts = f"{len(mine)} and {len(theirs)}"
        outcome = Outcome("FAIL", f"Column counts do not match ({counts})", {metric: 0.0})
        return Planned(lambda: outcome)
    ratio = sum(theirs.get(name) == kind for name, kind in mine.items()) / len(mine)
    if rule.condition is None or metric_passes(ratio, rule.condition):
        outcome = Outcome("PASS", "", {metric: ratio})
    else:
        outcome = Outcome(
            "FAIL", f"{ratio * 100:.2f}% of columns passed the threshold", {metric: ratio}
        )
    return Planned(lambda: outcome)


_AGGREGATE = re.compile(r"^\s*(sum|avg)\s*\((.+)\)\s*$", re.IGNORECASE)


def _aggregate(ctx: Context, expression: str) -> tuple[str, Dataset, str]:
    """``(function, dataset, column)`` of ``sum(col)`` / ``avg(alias.col)``."""
    found = _AGGREGATE.match(expression)
    if found is None:
        raise DqdlRuleError(
            f"AggregateMatch takes sum(column) or avg(column), the column optionally "
            f"alias.column; got {expression!r}"
        )
    function, target = found.group(1).lower(), found.group(2).replace('"', "").strip()
    alias, _, name = target.rpartition(".")
    source = dataset(ctx, alias or PRIMARY)
    column = source.column(name)
    if family(source.columns[column]) != "number":
        raise DqdlRuleError(
            f"AggregateMatch needs a numeric column; {column} is {source.columns[column]}"
        )
    return function, source, column


def aggregate_match(rule: Rule, ctx: Context) -> Planned:
    parts = [_aggregate(ctx, expression) for expression in rule.parameters]
    keys = []
    for function, source, column in parts:
        sql = f"{function}({quote(column)})"
        if source.alias == PRIMARY:
            keys.append((True, ctx.plan.aggregate(sql)))  # in the one aggregate scan
        else:
            keys.append((False, ctx.plan.query(f"SELECT {sql} FROM {source.relation}")))
    first_column, second_column = parts[0][2], parts[1][2]
    columns = first_column if first_column == second_column else f"{first_column},{second_column}"

    def value(scanned: bool, key: str) -> float:
        found = ctx.plan.value(key) if scanned else ctx.plan.value(key)[0][0]
        return number(found) or 0.0  # no rows: Deequ reads the NULL aggregate as 0

    def read() -> Outcome:
        first, second = (value(*k) for k in keys)
        ratio = 1.0 if first == 0 and second == 0 else (0.0 if second == 0 else first / second)
        return judge(f"Column.{columns}.AggregateMatch", ratio, rule.condition)

    return Planned(read)


_BRACED = re.compile(r"^(.+)\.\{(.+)\}$")
_DOTTED = re.compile(r"^(.+)\.([^.]+)$")


def _reference_columns(parameter: str) -> tuple[str, list[str]]:
    text = parameter.replace('"', "").strip()
    found = _BRACED.match(text) or _DOTTED.match(text)
    if found is None:
        raise DqdlRuleError(
            f"ReferenceDatasetColumns is alias.column or alias.{{c1,c2}}; got {parameter!r}"
        )
    return found.group(1).strip(), [c.strip() for c in found.group(2).split(",")]


def _rows_matched(ctx: Context, test: str, join: str) -> str:
    """The plan key of ``[(passed, rows)]``: the table's rows, and those passing ``test``."""
    return ctx.plan.query(
        f"SELECT count(*) FILTER (WHERE {test}), count(*) FROM {quote(BASE)} {join}"
    )


def referential_integrity(rule: Rule, ctx: Context) -> Planned:
    mine = [ctx.info.column(c.strip()) for c in rule.parameters[0].replace('"', "").split(",")]
    alias, names = _reference_columns(rule.parameters[1])
    if len(names) != len(mine):
        raise DqdlRuleError(
            f"ReferentialIntegrity compares as many columns on both sides; "
            f"got {len(mine)} and {len(names)}"
        )
    reference = dataset(ctx, alias)
    theirs = [reference.column(c) for c in names]
    keys = ", ".join(f"{quote(c)} AS {SLOT}_k{i}" for i, c in enumerate(theirs))
    on = " AND ".join(f"{base_column(c)} = {SLOT}_k{i}" for i, c in enumerate(mine))
    test, join = left_join(
        f"SELECT DISTINCT {keys}, true AS {SLOT}_hit FROM {reference.relation}",
        on,
        f"coalesce({SLOT}_hit, false)",
    )
    key = _rows_matched(ctx, test, join)

    def read() -> Outcome:
        passed, rows = ctx.plan.value(key)[0]
        if not rows:
            return Outcome("FAIL", "The primary dataset contains no data")
        return judge(f"Column.{alias}.ReferentialIntegrity", passed / rows, rule.condition)

    return Planned(read, test, (join,))


def _mappings(text: str) -> list[tuple[str, str]]:
    """``"a->b,c"`` as ``[(a, b), (c, c)]``."""
    pairs = []
    for item in text.replace('"', "").split(","):
        left, _, right = item.partition("->")
        if not left.strip():
            raise DqdlRuleError(f"cannot read the column mappings {text!r}")
        pairs.append((left.strip(), (right or left).strip()))
    return pairs


def dataset_match(rule: Rule, ctx: Context) -> Planned:
    alias = rule.parameters[0]
    reference = dataset(ctx, alias)
    keys = [(ctx.info.column(a), reference.column(b)) for a, b in _mappings(rule.parameters[1])]
    key_names = {a for a, _ in keys}
    if len(rule.parameters) > 2:
        pairs = _mappings(rule.parameters[2])
    else:
        pairs = [(c, c) for c in ctx.info.columns if c not in key_names]
        missing = [c for c, _ in pairs if c.lower() not in {n.lower() for n in reference.columns}]
        if missing:
            raise DqdlRuleError(
                f"Non key columns in the given data frames do not match: "
                f"'{alias}' has no {', '.join(missing)}"
            )
    matched = [(ctx.info.column(a), reference.column(b)) for a, b in pairs]
    select = [f"{quote(b)} AS {SLOT}_k{i}" for i, (_, b) in enumerate(keys)]
    select += [f"{quote(b)} AS {SLOT}_m{i}" for i, (_, b) in enumerate(matched)]
    on = [f"{base_column(a)} = {SLOT}_k{i}" for i, (a, _) in enumerate(keys)]
    on += [f"{base_column(a)} IS NOT DISTINCT FROM {SLOT}_m{i}" for i, (a, _) in enumerate(matched)]
    test, join = left_join(
        f"SELECT {', '.join(select)}, true AS {SLOT}_hit FROM {reference.relation}",
        " AND ".join(on),
        f"coalesce({SLOT}_hit, false)",
    )
    distinct = "SELECT count(*) FROM (SELECT {} FROM {} GROUP BY ALL)"
    mine = ", ".join(quote(a) for a, _ in keys)
    theirs = ", ".join(quote(b) for _, b in keys)
    key = ctx.plan.query(  # the join's count is only right when the reference keys are unique
        f"SELECT count(*) FILTER (WHERE {test}), (SELECT count(*) FROM {quote(BASE)}),"
        f" ({distinct.format(mine, quote(BASE))}),"
        f" (SELECT count(*) FROM {reference.relation}),"
        f" ({distinct.format(theirs, reference.relation)})"
        f" FROM {quote(BASE)} {join}"
    )

    def read() -> Outcome:
        passed, rows, row_keys, other, other_keys = ctx.plan.value(key)[0]
        if row_keys != rows or other_keys != other:
            raise DqdlRuleError(
                "Provided key map not suitable for given data frames: keys must be unique, "
                f"but the table has {row_keys} keys in {rows} rows and '{alias}' "
                f"{other_keys} keys in {other} rows"
            )
        if not rows:
            return Outcome("FAIL", "Cannot evaluate: the primary dataset is empty")
        return judge(f"Dataset.{alias}.DatasetMatch", passed / rows, rule.condition)

    return Planned(read, test, (join,))


HANDLERS: dict[str, Handler] = {
    "RowCountMatch": row_count_match,
    "SchemaMatch": schema_match,
    "AggregateMatch": aggregate_match,
    "ReferentialIntegrity": referential_integrity,
    "DatasetMatch": dataset_match,
}
