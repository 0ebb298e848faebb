"""Row-level outcomes, as Glue gives them: every row of the checked table, with the rules it
passed, failed and skipped, and whether it passed them all.

Glue's EvaluateDataQuality adds four columns to the rows (``rowLevelOutcomes``):

- ``DataQualityRulesPass``, ``DataQualityRulesFail``: the row-level rules (their text) the row
  passed / failed;
- ``DataQualityRulesSkip``: the rules that do not judge rows (RowCount, Mean, the dataset
  matches...), and those that could not run (ERROR);
- ``DataQualityEvaluationResult``: ``Passed`` when the row failed no rule, else ``Failed``.

Which rules judge rows follows Glue's rule type reference: ColumnValues, ColumnLength,
Completeness, IsComplete, Uniqueness, IsUnique, IsPrimaryKey, DataFreshness,
ReferentialIntegrity and DatasetMatch, and a composite whose parts all do (its and/or of
theirs). Each gives its test as SQL (:class:`.Planned` ``rows``, with the joins it needs).

The rows are written by DuckDB (``COPY (SELECT ...) TO``) to Parquet or CSV, streamed from the
table's files, and the run's ``RowCounts`` are counted over the same SELECT, so they agree with
the file. Without a file they are counted in the one aggregate scan when no test needs a join,
else by one more statement.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from tidebox.core.errors import OutputFileError, QueryError
from tidebox.lake.session import Session
from tidebox.lake.sql import literal, quote
from tidebox.quality.dqdl.model import RuleNode
from tidebox.quality.dqdl.outcome import Outcome, Planned
from tidebox.quality.dqdl.plan import BASE
from tidebox.quality.results import RowCounts

PASS = "DataQualityRulesPass"
FAIL = "DataQualityRulesFail"
SKIP = "DataQualityRulesSkip"
RESULT = "DataQualityEvaluationResult"
FORMATS = {".parquet": "FORMAT parquet", ".csv": "FORMAT csv, HEADER true"}


def output_format(path: Path) -> str:
    """DuckDB's COPY options for ``path`` (by its suffix), or an error naming the ones known."""
    options = FORMATS.get(path.suffix.lower())
    if options is None:
        raise OutputFileError(
            str(path), f"row-level outcomes are written as {' or '.join(FORMATS)} files"
        )
    return options


@dataclass(frozen=True)
class _Test:
    text: str  # the rule as written: what the lists hold
    sql: str | None  # true where a row passes; None for a rule that does not judge rows
    joins: tuple[str, ...]


class RowLevel:
    """The row-level tests of a ruleset's top-level rules, in order."""

    def __init__(self, nodes: tuple[RuleNode, ...], planned: list[Planned | Outcome]) -> None:
        self.tests = [
            _Test(node.text, p.rows, p.joins)
            if isinstance(p, Planned) and p.rows
            else _Test(node.text, None, ())
            for node, p in zip(nodes, planned, strict=True)
        ]
        self.queries_run = 0
        self._screened: list[Outcome] | None = None

    @property
    def in_scan(self) -> bool:
        """Whether every test is over the row alone (so counts join the aggregate scan)."""
        return not any(t.joins for t in self.tests)

    def scan_tests(self) -> list[str]:
        """The tests to count in the aggregate scan: all of them, or none when one needs a
        join."""
        return [t.sql for t in self.tests if t.sql] if self.in_scan else []

    def select(self, outcomes: list[Outcome]) -> str:
        """Every row of the table with Glue's four columns; a rule that could not run (ERROR)
        is skipped."""
        judged = [
            t
            for t, outcome in zip(self.tests, outcomes, strict=True)
            if t.sql and outcome.result != "ERROR"
        ]
        skipped = [t.text for t in self.tests if t not in judged]
        names = [quote(f"__dq_t{i}") for i in range(len(judged))]
        joins = " ".join(dict.fromkeys(j for t in judged for j in t.joins))
        tests = "".join(f", ({t.sql}) AS {n}" for t, n in zip(judged, names, strict=True))
        inner = f"SELECT {quote(BASE)}.*{tests} FROM {quote(BASE)} {joins}"
        if not judged:
            return (
                f"SELECT *, []::VARCHAR[] AS {quote(PASS)}, []::VARCHAR[] AS {quote(FAIL)},"
                f" {_texts(skipped)} AS {quote(SKIP)}, 'Passed' AS {quote(RESULT)} FROM ({inner})"
            )
        passed = _listed(judged, names, negate=False)
        failed = _listed(judged, names, negate=True)
        every = " AND ".join(names)
        return (
            f"SELECT * EXCLUDE ({', '.join(names)}), {passed} AS {quote(PASS)},"
            f" {failed} AS {quote(FAIL)}, {_texts(skipped)} AS {quote(SKIP)},"
            f" CASE WHEN {every} THEN 'Passed' ELSE 'Failed' END AS {quote(RESULT)}"
            f" FROM ({inner})"
        )

    def count(self, session: Session, outcomes: list[Outcome]) -> RowCounts:
        """Rows processed, passed and failed, over :meth:`select`."""
        row = self._run(
            session,
            outcomes,
            lambda select: (
                f"SELECT count(*) AS processed,"
                f" count(*) FILTER (WHERE {quote(RESULT)} = 'Passed') AS passed FROM ({select})"
            ),
        ).to_pylist()[0]
        processed, passed = int(row["processed"]), int(row["passed"])
        return RowCounts(processed, passed, processed - passed)

    def write(self, session: Session, outcomes: list[Outcome], path: Path) -> None:
        """Write :meth:`select` to ``path`` (Parquet or CSV, by its suffix), streamed."""
        options = output_format(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        target = literal(str(path))
        self._run(session, outcomes, lambda select: f"COPY ({select}) TO {target} ({options})")

    def _run(
        self, session: Session, outcomes: list[Outcome], statement: Callable[[str], str]
    ) -> pa.Table:
        """Run ``statement`` over :meth:`select`. If DuckDB rejects it (a composite whose
        failing part could not run keeps its test), find the tests it rejects, one statement
        each, and run it again with those rules skipped."""
        if self._screened is None:
            self.queries_run += 1
            try:
                return session.execute(statement(self.select(outcomes)))
            except QueryError:
                self._screened = self._screen(session, outcomes)
        self.queries_run += 1
        return session.execute(statement(self.select(self._screened)))

    def _screen(self, session: Session, outcomes: list[Outcome]) -> list[Outcome]:
        screened = []
        for test, outcome in zip(self.tests, outcomes, strict=True):
            if test.sql and outcome.result != "ERROR":
                self.queries_run += 1
                try:
                    session.execute(
                        f"SELECT count(*) FILTER (WHERE {test.sql})"
                        f" FROM {quote(BASE)} {' '.join(test.joins)}"
                    )
                except QueryError as exc:
                    outcome = Outcome("ERROR", str(exc))
            screened.append(outcome)
        return screened


def _texts(texts: list[str]) -> str:
    return f"[{', '.join(literal(t) for t in texts)}]::VARCHAR[]"


def _listed(tests: list[_Test], names: list[str], negate: bool) -> str:
    """The texts of the rules whose test is true (false with ``negate``) for the row."""
    cases = ", ".join(
        f"CASE WHEN {'NOT ' if negate else ''}{name} THEN {literal(t.text)} END"
        for t, name in zip(tests, names, strict=True)
    )
    return f"list_filter([{cases}]::VARCHAR[], x -> x IS NOT NULL)"
