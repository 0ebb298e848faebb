"""What a ruleset's rules need from the table, gathered so that DuckDB scans it as few times as
it can.

Rules do not query the table themselves. Each asks the :class:`Plan` for what its metric is made
of, and reads the values once the plan has run:

- :meth:`Plan.aggregate`: an aggregate expression (``count(*)``, ``avg("x")``,
  ``count(*) FILTER (WHERE ...)``...). Every rule's expressions go into ONE ``SELECT`` over the
  table, so a ruleset of counts, completeness, means and value checks reads the table (only the
  columns named) once. A rule's own ``where`` becomes a ``FILTER`` clause, not another scan.
- :meth:`Plan.frequencies`: the value counts of a column (or columns), for Uniqueness,
  UniqueValueRatio, Entropy and IsPrimaryKey: one ``GROUP BY`` query per column set and
  ``where``, shared by every rule that asks for it.
- :meth:`Plan.query`: a statement of its own (CustomSql).

If the one aggregate query fails (a rule's ``where`` that does not bind, a cast that fails on
some value), its expressions are run one by one, so that the rules that asked for a failing
expression answer ERROR with DuckDB's message and the others still get their values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tidebox.core.errors import DqdlRuleError, QueryError
from tidebox.lake.session import Session
from tidebox.lake.sql import quote
from tidebox.quality.dqdl.slices import TableFiles, slice_relations

BASE = "__dq_base"
"""The view rules read: the table, filtered by the run's ``--where``."""


def match_column(columns: Iterable[str], name: str) -> str | None:
    """``name`` as ``columns`` spell it, matched without regard to case (as Glue's Spark
    does); None when there is no such column."""
    known = list(columns)
    if name in known:
        return name
    return next((c for c in known if c.lower() == name.lower()), None)


@dataclass(frozen=True)
class Frequencies:
    """Value counts of a column set: how many distinct values (non-null), how many occur once,
    the rows they cover, and sum(n * ln n) for the entropy."""

    distinct: int
    unique: int
    rows: int
    n_log_n: float


@dataclass
class TableInfo:
    """The columns the rules see (name and DuckDB type, in order), and the instant of the run,
    which ``now()`` in every rule means."""

    columns: dict[str, str]
    now: dt.datetime
    partition_keys: tuple[str, ...] = ()
    files: TableFiles | None = None
    """The files behind the view, for the uniqueness family's slices (None: count at once)."""

    def column(self, name: str) -> str:
        """The column's name as the table spells it (matched without regard to case, as Glue's
        Spark does), or a rule error naming the columns there are."""
        found = match_column(self.columns, name)
        if found is None:
            raise DqdlRuleError(
                f"Column '{name}' does not exist in the table (columns: {', '.join(self.columns)})"
            )
        return found

    def type_of(self, name: str) -> str:
        return self.columns[self.column(name)].upper()


@dataclass
class Plan:
    """The expressions, value counts and statements a ruleset needs; :meth:`run` computes them."""

    session: Session
    info: TableInfo | None = None
    _aggregates: dict[str, str] = field(default_factory=dict)  # sql -> alias
    _frequencies: dict[tuple[tuple[str, ...], str | None], str] = field(default_factory=dict)
    _queries: dict[str, str] = field(default_factory=dict)
    _values: dict[str, Any] = field(default_factory=dict)
    _errors: dict[str, str] = field(default_factory=dict)
    queries_run: int = 0

    def aggregate(self, sql: str) -> str:
        """Ask for an aggregate expression over the table; returns its key for :meth:`value`."""
        if sql not in self._aggregates:
            self._aggregates[sql] = f"m{len(self._aggregates)}"
        return self._aggregates[sql]

    def frequencies(self, columns: tuple[str, ...], where: str | None = None) -> str:
        """Ask for the value counts of ``columns`` (rows where all of them are null left out, as
        Deequ's frequency analyzers do), among the rows ``where`` selects."""
        key = (columns, where)
        if key not in self._frequencies:
            self._frequencies[key] = f"f{len(self._frequencies)}"
        return self._frequencies[key]

    def query(self, sql: str) -> str:
        """Ask for a statement's whole result (a list of rows as tuples)."""
        if sql not in self._queries:
            self._queries[sql] = f"q{len(self._queries)}"
        return self._queries[sql]

    def value(self, key: str) -> Any:
        """What was computed for ``key``, or a rule error with DuckDB's message."""
        if key in self._errors:
            raise DqdlRuleError(self._errors[key])
        return self._values[key]

    def run(self) -> None:
        """Compute everything asked for: one aggregate query, then the value counts and the
        rules' own statements."""
        self._run_aggregates()
        for (columns, where), key in self._frequencies.items():
            self._run_frequencies(key, columns, where)
        for sql, key in self._queries.items():
            try:
                self._values[key] = [tuple(r.values()) for r in self._execute(sql).to_pylist()]
            except QueryError as exc:
                self._errors[key] = str(exc)

    def _execute(self, sql: str) -> Any:
        self.queries_run += 1
        return self.session.execute(sql)

    def _run_aggregates(self) -> None:
        if not self._aggregates:
            return
        try:
            self._select(list(self._aggregates.items()))
        except QueryError:
            for item in self._aggregates.items():  # find which expressions fail
                try:
                    self._select([item])
                except QueryError as exc:
                    self._errors[item[1]] = str(exc)

    def _select(self, items: list[tuple[str, str]]) -> None:
        listing = ", ".join(f"{sql} AS {alias}" for sql, alias in items)
        row = self._execute(f"SELECT {listing} FROM {quote(BASE)}").to_pylist()[0]
        self._values.update(row)

    def _run_frequencies(self, key: str, columns: tuple[str, ...], where: str | None) -> None:
        names = ", ".join(quote(c) for c in columns)
        present = " OR ".join(f"{quote(c)} IS NOT NULL" for c in columns)
        condition = f"({present})" + (f" AND ({where})" if where else "")
        relations = None
        if self.info is not None:
            types = {c: self.info.columns[c] for c in columns if c in self.info.columns}
            relations = slice_relations(self.session, self.info.files, types)
        sources = [f"({r}) AS s" for r in relations] if relations else [quote(BASE)]
        total = Frequencies(0, 0, 0, 0.0)
        for source in sources:  # disjoint in their keys: the counts add up
            sql = (
                "SELECT count(*) AS distinct_values,"
                " count(*) FILTER (WHERE n = 1) AS unique_values,"
                " coalesce(sum(n), 0) AS rows, coalesce(sum(n * ln(n)), 0) AS n_log_n"
                f" FROM (SELECT count(*) AS n FROM {source} WHERE {condition} GROUP BY {names})"
            )
            try:
                row = self._execute(sql).to_pylist()[0]
            except QueryError as exc:
                self._errors[key] = str(exc)
                return
            total = Frequencies(
                total.distinct + int(row["distinct_values"]),
                total.unique + int(row["unique_values"]),
                total.rows + int(row["rows"]),
                total.n_log_n + float(row["n_log_n"]),
            )
        self._values[key] = total
