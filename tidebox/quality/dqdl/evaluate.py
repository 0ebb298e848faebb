"""Evaluate a DQDL ruleset on a landed table, where the data is: DuckDB over the catalog's files.

``run_ruleset(settings, ruleset, table, where)`` opens one query session, makes the table (its
partitions pruned by ``where`` when it filters on partition keys) the view every rule reads,
lets each rule plan what it needs (:mod:`.plan`), runs the plan (one aggregate query for most
rules, plus a GROUP BY per column set of the uniqueness family, each CustomSql and each
reference dataset a cross-dataset rule reads, :mod:`.rules_cross`), and answers
in Glue's shape (:class:`~tidebox.quality.results.QualityResult`): one RuleResult per top-level
rule, a composite counting as one, ``Rule_1``, ``Rule_2``... in order. Row-level outcomes (and
the rows passed and failed, when a row test needs a join) come from :mod:`.rowlevel`.

A rule that cannot be evaluated (a missing column, a type its condition cannot compare, SQL
DuckDB rejects, a rule type or dynamic condition not supported yet) is ERROR with the reason;
the run goes on. Only what stops every rule raises: an unknown table or ruleset, a ``where``
that DuckDB rejects.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tidebox.core.errors import DqdlRuleError, InputFileError, QueryError
from tidebox.core.settings import Settings
from tidebox.lake.catalog import reading_catalog
from tidebox.lake.session import Session
from tidebox.lake.sql import first_line, literal, quote
from tidebox.quality.dqdl import rules_cross, rules_dataset, rules_stats, rules_values
from tidebox.quality.dqdl.analyzers import plan_analyzer
from tidebox.quality.dqdl.history import record_run
from tidebox.quality.dqdl.history_rules import RunScope, plan_detect_anomalies, plan_dynamic
from tidebox.quality.dqdl.model import Composite, Rule, RuleNode, Ruleset
from tidebox.quality.dqdl.outcome import Context, Handler, Outcome, Planned
from tidebox.quality.dqdl.parser import load_ruleset
from tidebox.quality.dqdl.plan import BASE, Plan, TableInfo
from tidebox.quality.dqdl.rowlevel import RowLevel, output_format
from tidebox.quality.dqdl.slices import table_files
from tidebox.quality.dqdl.sources import aliases
from tidebox.quality.results import QualityResult, RowCounts, RuleResult

HANDLERS: dict[str, Handler] = {
    **rules_dataset.HANDLERS,
    **rules_stats.HANDLERS,
    **rules_values.HANDLERS,
    **rules_cross.HANDLERS,
}
"""The rule types evaluated so far; any other answers ERROR ("not supported yet")."""

EXPECTATIONS = "expectations"


def find_ruleset(settings: Settings, name: str | Path) -> Path:
    """A ruleset file: ``name`` itself when it is a file, else the project's
    ``expectations/NAME.dqdl``."""
    path = Path(name)
    if path.is_file():
        return path
    candidate = settings.project_dir / EXPECTATIONS / f"{name}.dqdl"
    if candidate.is_file():
        return candidate
    raise InputFileError(str(name), f"no such ruleset (nor {candidate})")


def run_ruleset(
    settings: Settings,
    ruleset: Ruleset | str | Path,
    table: str,
    where: str | None = None,
    row_level: str | Path | None = None,
) -> QualityResult:
    """Evaluate ``ruleset`` (parsed, a file, or a project ruleset's name) on ``table``, on the
    rows ``where`` (SQL) selects; with ``row_level`` (a .parquet or .csv path), also write
    every row with its row-level outcomes there (:mod:`.rowlevel`)."""
    out = Path(row_level) if row_level is not None else None
    if out is not None:
        output_format(out)  # refuse an unknown format before reading anything
    if not isinstance(ruleset, Ruleset):
        ruleset = load_ruleset(find_ruleset(settings, ruleset))
    started = dt.datetime.now(dt.UTC)
    with reading_catalog(settings) as catalog:
        found = catalog.table(table)
        session = Session(settings, catalog)
        scope = RunScope(settings, found.name, ruleset_name(ruleset))
        try:
            info = _open_base(session, found.name, where, started)
            info.partition_keys = tuple(found.partition_names)
            result = _evaluate(session, ruleset, found.name, info, started, scope, out)
        finally:
            session.close()
    keep_history(settings, result)
    return result


def ruleset_name(ruleset: Ruleset) -> str:
    """The name a ruleset's runs are kept under: its file's stem."""
    return Path(ruleset.source).stem if ruleset.source else ""


def keep_history(settings: Settings, result: QualityResult) -> None:
    """Record the run's metrics (every rule's and analyzer's) for later dynamic rules and
    DetectAnomalies."""
    metrics: dict[str, float] = {}
    for rule in result.rules:
        metrics |= rule.evaluated_metrics
    for analyzer in result.analyzers:
        metrics |= analyzer.evaluated_metrics
    record_run(
        settings,
        result.table,
        result.ruleset,
        result.started,
        result.completed,
        result.score,
        metrics,
    )


def run_ruleset_on_file(
    settings: Settings, ruleset: Ruleset | str | Path, uri: str, table: str
) -> QualityResult:
    """Evaluate ``ruleset`` on the rows of one Parquet file (a local path or an s3:// URI), as
    Glue Data Quality in an ETL job sees only the frame it is given: a delivered object, before
    or apart from the rest of its table. ``table`` names it in the result (and ``primary`` is
    the file in CustomSql); partition keys in the path (``dt=.../``) are columns, as in the
    table. The run is kept in the history under ``table``, so dynamic rules compare an object
    with the ones delivered before it."""
    if not isinstance(ruleset, Ruleset):
        ruleset = load_ruleset(find_ruleset(settings, ruleset))
    started = dt.datetime.now(dt.UTC)
    with reading_catalog(settings) as catalog:
        session = Session(settings, catalog)
        try:
            if uri.startswith("s3://"):
                session.scanner.register(session.con, with_s3=True)
            info = _open_file(session, uri, started)
            scope = RunScope(settings, table, ruleset_name(ruleset))
            result = _evaluate(session, ruleset, table, info, started, scope)
        finally:
            session.close()
    keep_history(settings, result)
    return result


def _open_base(session: Session, table: str, where: str | None, now: dt.datetime) -> TableInfo:
    import duckdb

    session.prepare(quote(table))
    session.con.execute("SET TimeZone = 'UTC'")
    filtered = f" WHERE ({where})" if where and where.strip() else ""
    try:
        session.con.execute(
            f"CREATE OR REPLACE TEMP VIEW {quote(BASE)} AS SELECT * FROM {quote(table)}{filtered}"
        )
        described = session.con.execute(f"DESCRIBE SELECT * FROM {quote(BASE)}").fetchall()
    except duckdb.Error as exc:
        raise QueryError(f"--where {where!r}: {first_line(exc)}") from exc
    info = TableInfo({row[0]: str(row[1]) for row in described}, now)
    info.files = table_files(session, session.catalog.table(table), where)
    return info


def _open_file(session: Session, uri: str, now: dt.datetime) -> TableInfo:
    import duckdb

    source = f"read_parquet({literal(session.scanner.uri(uri))}, hive_partitioning = true)"
    session.con.execute("SET TimeZone = 'UTC'")
    try:
        session.con.execute(f"CREATE OR REPLACE TEMP VIEW {quote(BASE)} AS FROM {source}")
        described = session.con.execute(f"DESCRIBE SELECT * FROM {quote(BASE)}").fetchall()
    except duckdb.Error as exc:
        raise QueryError(f"{uri}: {first_line(exc)}") from exc
    return TableInfo({row[0]: str(row[1]) for row in described}, now)


def _evaluate(
    session: Session,
    ruleset: Ruleset,
    table: str,
    info: TableInfo,
    started: dt.datetime,
    scope: RunScope,
    row_level: Path | None = None,
) -> QualityResult:
    plan = Plan(session, info)
    ctx = Context(plan, info, aliases(ruleset.data_sources))
    planned = [_plan_node(node, ctx, scope) for node in ruleset.rules]
    analyzers = [plan_analyzer(rule, ctx, HANDLERS) for rule in ruleset.analyzers]
    levels = RowLevel(ruleset.rules, planned)
    row_tests = levels.scan_tests() if row_level is None else []
    total = plan.aggregate("count(*)") if row_tests else None
    passed = (
        plan.aggregate(f"count(*) FILTER (WHERE {' AND '.join(row_tests)})") if row_tests else None
    )
    plan.run()
    outcomes = [_read(p) for p in planned]
    results = tuple(
        _rule_result(f"Rule_{i}", node, outcome)
        for i, (node, outcome) in enumerate(zip(ruleset.rules, outcomes, strict=True), 1)
    )
    rows = None
    if total is not None and passed is not None:
        try:
            processed, good = int(plan.value(total)), int(plan.value(passed))
            rows = RowCounts(processed, good, processed - good)
        except DqdlRuleError:
            rows = None
    if row_level is not None:
        levels.write(session, outcomes, row_level)
    if row_level is not None:
        rows = levels.count(session, outcomes)  # over the rows as written
    # without --row-level, rows are counted only when the run's one scan can: a row test that
    # needs a join (uniqueness, a reference) would cost another pass over the whole table
    return QualityResult(
        ruleset=scope.ruleset,
        table=table,
        started=started,
        completed=dt.datetime.now(dt.UTC),
        rules=results,
        analyzers=tuple(a() for a in analyzers),
        rows=rows,
        bytes_scanned=session.scanner.bytes_read,
        files_scanned=session.files_scanned,
        queries=plan.queries_run + levels.queries_run,
    )


def _plan_node(node: RuleNode, ctx: Context, scope: RunScope | None) -> Planned | Outcome:
    if isinstance(node, Composite):
        parts = [_plan_node(part, ctx, scope) for part in node.parts]
        return _composite(node, parts)
    return plan_rule(node, ctx, HANDLERS, scope)


def plan_rule(
    rule: Rule, ctx: Context, handlers: dict[str, Handler], scope: RunScope | None = None
) -> Planned | Outcome:
    """The rule planned, or its ERROR outcome when it cannot be. Rules over earlier runs
    (dynamic conditions, DetectAnomalies) need ``scope``: whose history to read."""
    try:
        if rule.type == "DetectAnomalies" or rule.dynamic:
            if scope is None:
                raise DqdlRuleError("rules over earlier results need a table's run history")
            if rule.type == "DetectAnomalies":
                return plan_detect_anomalies(rule, ctx, handlers, scope)
        handler = handlers.get(rule.type)
        if handler is None:
            return Outcome("ERROR", f"Rule type {rule.type} is not supported yet")
        if rule.dynamic and scope is not None:
            return plan_dynamic(rule, ctx, handler, scope)
        return handler(rule, ctx)
    except DqdlRuleError as exc:
        return Outcome("ERROR", str(exc))


def _read(planned: Planned | Outcome) -> Outcome:
    if isinstance(planned, Outcome):
        return planned
    try:
        return planned.read()
    except DqdlRuleError as exc:
        return Outcome("ERROR", str(exc))


def _composite(node: Composite, parts: list[Planned | Outcome]) -> Planned:
    """``and``: PASS when every part passes, else FAIL if one failed, else ERROR. ``or``: PASS
    when one part passes, else ERROR if one could not run, else FAIL. The metrics are all the
    parts'; the message names the parts that did not pass."""

    def read() -> Outcome:
        outcomes = [_read(p) for p in parts]
        results = [o.result for o in outcomes]
        if node.op == "and":
            result = (
                "PASS"
                if all(r == "PASS" for r in results)
                else ("FAIL" if "FAIL" in results else "ERROR")
            )
        else:
            result = "PASS" if "PASS" in results else ("ERROR" if "ERROR" in results else "FAIL")
        metrics: dict[str, float] = {}
        for outcome in outcomes:
            metrics |= outcome.metrics
        messages = [
            f"{_text(part)}: {o.message or o.result}"
            for part, o in zip(node.parts, outcomes, strict=True)
            if o.result != "PASS"
        ]
        return Outcome(result, "" if result == "PASS" else "; ".join(messages), metrics)

    tests = [p.rows for p in parts if isinstance(p, Planned)]
    rows = None
    if len(tests) == len(parts) and all(tests):
        joiner = " AND " if node.op == "and" else " OR "
        rows = "(" + joiner.join(f"({t})" for t in tests) + ")"
    joins = tuple(dict.fromkeys(j for p in parts if isinstance(p, Planned) for j in p.joins))
    return Planned(read, rows, joins if rows else ())


def _text(node: RuleNode) -> str:
    return node.text


def _rule_result(name: str, node: RuleNode, outcome: Outcome) -> RuleResult:
    labels = dict(node.labels) if isinstance(node, Rule) else _composite_labels(node)
    return RuleResult(
        name=name,
        description=node.text,
        result=outcome.result,
        evaluation_message=outcome.message,
        evaluated_metrics=outcome.metrics,
        evaluated_rule=outcome.evaluated_rule or node.text,
        labels=labels,
    )


def _composite_labels(node: Composite) -> dict[str, str]:
    labels: dict[str, str] = {}
    for leaf in node.leaves():
        labels |= dict(leaf.labels)
    return labels
