"""Row-level tests that need more than the row itself: a ``LEFT JOIN`` beside the table.

A row-level rule marks each row passed or failed with SQL over the row (:class:`.Planned`
``rows``). Some rules' test needs other rows: IsUnique (how many rows share the value),
ReferentialIntegrity and DatasetMatch (the row's match in a reference table). Such a rule gives
its test with the join it needs, built here: the joined relation exposes only columns named
after the join's own alias (``__dq_j<hash>_...``), so the table's columns stay unambiguous in
every other rule's test, and two rules asking for the same join share it.
"""

from __future__ import annotations

import hashlib

from tidebox.lake.sql import quote
from tidebox.quality.dqdl.plan import BASE

SLOT = "__J__"
"""Stands for the join's alias in a template until :func:`left_join` names it."""


def left_join(subquery: str, on: str, test: str) -> tuple[str, str]:
    """``(test, join)``: the ``LEFT JOIN`` of ``subquery`` on ``on``, and the row's test over
    it, with :data:`SLOT` in all three replaced by the join's alias (a hash of the join)."""
    alias = "__dq_j" + hashlib.sha1(f"{subquery}\n{on}".encode()).hexdigest()[:10]
    join = f"LEFT JOIN ({subquery.replace(SLOT, alias)}) AS {alias} ON {on.replace(SLOT, alias)}"
    return test.replace(SLOT, alias), join


def base_column(name: str) -> str:
    """A column of the checked table, qualified (for a join's ON clause)."""
    return f"{quote(BASE)}.{quote(name)}"


def within(where: str | None, test: str) -> str:
    """A rule's test over every row: rows its ``where`` leaves out pass, as they are not the
    rule's to judge."""
    return f"(NOT coalesce({where}, false) OR {test})" if where else test


def unique_rows(columns: tuple[str, ...], where: str | None) -> tuple[str, str]:
    """``(test, join)`` true where the row's value of ``columns`` occurs once among the rows
    ``where`` selects (rows with all of them NULL hold no value, and fail), as Deequ's
    uniqueness counts them."""
    keys = ", ".join(f"{quote(c)} AS {SLOT}_k{i}" for i, c in enumerate(columns))
    present = " OR ".join(f"{quote(c)} IS NOT NULL" for c in columns)
    condition = f"({present})" + (f" AND ({where})" if where else "")
    subquery = (
        f"SELECT {keys}, count(*) AS {SLOT}_n FROM {quote(BASE)} WHERE {condition} GROUP BY ALL"
    )
    on = " AND ".join(
        f"{base_column(c)} IS NOT DISTINCT FROM {SLOT}_k{i}" for i, c in enumerate(columns)
    )
    test, join = left_join(subquery, on, f"coalesce({SLOT}_n = 1, false)")
    return within(where, test), join
