"""The datasets a cross-dataset rule names, by alias: which catalog table each one is.

In Glue a job passes its "additional data sources" to the evaluation as a map from alias to
frame, and rules name them (``RowCountMatch "reference" >= 0.9``). tidebox has no job: an alias
names a catalog table, found in this order:

1. the ruleset's ``DataSources`` block, where any key other than Glue's own (``Primary``,
   ``AdditionalDataSources``) maps an alias to a table::

       DataSources = { "Primary": "orders", "reference": "customers_v2" }

2. else the catalog table of that name (``"customers"``), its database prefix allowed
   (``"tidebox.customers"``, as AggregateMatch writes Data Catalog references).

``primary`` (any case) is the checked table itself, as the run sees it (its ``--where``
applied). A reference is read whole, from its files, through the run's query session.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tidebox.core.errors import DqdlRuleError, TideboxError
from tidebox.lake.sql import first_line, quote
from tidebox.quality.dqdl.outcome import Context
from tidebox.quality.dqdl.plan import BASE, match_column

GLUE_KEYS = frozenset({"Primary", "AdditionalDataSources"})
DATABASE = "tidebox"
PRIMARY = "primary"


def aliases(data_sources: Mapping[str, str | tuple[str, ...]]) -> dict[str, str]:
    """The alias -> table mapping a ruleset's ``DataSources`` block declares."""
    return {
        key: value
        for key, value in data_sources.items()
        if key not in GLUE_KEYS and isinstance(value, str)
    }


@dataclass(frozen=True)
class Dataset:
    """A dataset a rule reads: the SQL relation to select from, and its columns (name ->
    DuckDB type, in order)."""

    alias: str
    relation: str
    columns: dict[str, str]

    def column(self, name: str) -> str:
        """The column as the dataset spells it (matched without regard to case, as Spark)."""
        found = match_column(self.columns, name)
        if found is None:
            raise DqdlRuleError(
                f"Column '{name}' does not exist in dataset '{self.alias}' "
                f"(columns: {', '.join(self.columns)})"
            )
        return found


def primary(ctx: Context) -> Dataset:
    """The checked table, as the rules see it."""
    return Dataset(PRIMARY, quote(BASE), dict(ctx.info.columns))


def table_of(ctx: Context, alias: str) -> str:
    """The catalog table ``alias`` names (see the module's order)."""
    if alias in ctx.aliases:
        return ctx.aliases[alias]
    prefix = f"{DATABASE}."
    return alias[len(prefix) :] if alias.lower().startswith(prefix) else alias


def dataset(ctx: Context, alias: str) -> Dataset:
    """The dataset ``alias`` names, ready to query in the run's session; a rule error when no
    catalog table answers to it or it has no data."""
    alias = alias.strip()
    if alias.lower() == PRIMARY:
        return primary(ctx)
    name = table_of(ctx, alias)
    import duckdb

    session = ctx.plan.session
    try:
        table = session.catalog.table(name)
        session.prepare(quote(table.name))
        described = session.con.execute(f"DESCRIBE SELECT * FROM {quote(table.name)}").fetchall()
    except TideboxError as exc:
        raise DqdlRuleError(f"Reference dataset '{alias}' cannot be read: {exc}") from exc
    except duckdb.Error as exc:  # reading the files' schema
        message = first_line(exc)
        raise DqdlRuleError(f"Reference dataset '{alias}' cannot be read: {message}") from exc
    return Dataset(alias, quote(table.name), {str(r[0]): str(r[1]) for r in described})
