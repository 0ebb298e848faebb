"""``tidebox query`` (Athena over the catalog, and its shell) and ``tidebox catalog`` (Glue)."""

from __future__ import annotations

from pathlib import Path

import typer

from tidebox.cli.console import out, settings_of
from tidebox.cli.results import print_description, print_tables, show_result
from tidebox.core.errors import TideboxError

catalog_app = typer.Typer(help="The Glue-like catalog: tables, partitions, the crawler.")
FORMATS = ("table", "csv", "json", "parquet")


def query_command(
    ctx: typer.Context,
    sql: str | None = typer.Argument(None, help="A statement; none opens the shell."),
    fmt: str = typer.Option("table", "--format", help="table, csv, json or parquet"),
    output: Path | None = typer.Option(
        None, "--output", help="Save the results: a file, or a folder for <query-id> files."
    ),
) -> None:
    """Run SQL over the catalog's tables (Athena's dialect for CTAS and UNLOAD), print the rows,
    then the run time, data scanned and its Athena cost."""
    if fmt not in FORMATS:
        raise TideboxError(f"--format {fmt}: expected one of {', '.join(FORMATS)}")
    if fmt == "parquet" and output is None:
        raise TideboxError("--format parquet writes a file: give --output PATH")
    settings = settings_of(ctx)
    if sql is None:
        from tidebox.cli.shell import run_shell

        run_shell(settings, fmt)
        return
    show_result(settings, sql, fmt, output)


# -- catalog ---------------------------------------------------------------------------------------
@catalog_app.command("list")
def catalog_list(ctx: typer.Context) -> None:
    """The tables: name, format, location, partition keys, where they came from."""
    print_tables(settings_of(ctx))


@catalog_app.command("show")
def catalog_show(ctx: typer.Context, name: str = typer.Argument(...)) -> None:
    """A table's columns, partition keys, partitions, files, bytes and rows."""
    print_description(settings_of(ctx), name)


@catalog_app.command("repair")
def catalog_repair(ctx: typer.Context, name: str = typer.Argument(...)) -> None:
    """MSCK REPAIR TABLE: register the partitions that appeared under the table's location."""
    from tidebox.lake.tables import repair_table

    added = repair_table(settings_of(ctx), name)
    out.print(f"{name}: {added} new partition(s) registered")


@catalog_app.command("drop")
def catalog_drop(ctx: typer.Context, name: str = typer.Argument(...)) -> None:
    """Forget a table; its files stay where they are (DROP TABLE of an external table)."""
    from tidebox.lake.tables import drop_table

    table = drop_table(settings_of(ctx), name)
    out.print(f"dropped table {table.name} (its files stay at {table.location})")


@catalog_app.command("crawl")
def catalog_crawl(
    ctx: typer.Context,
    prefix: str = typer.Argument(..., help="A folder (under the bucket if relative) or s3:// URI."),
    table: str = typer.Option(..., "--table", help="Name of the table to register."),
    fmt: str | None = typer.Option(None, "--format", help="parquet, json or csv (default: guess)."),
) -> None:
    """Infer a table from the files under PREFIX (format, columns, partition keys), as Glue's
    crawler does, and register it with the partitions found."""
    from tidebox.lake.crawler import crawl

    found, added = crawl(settings_of(ctx), prefix, table, fmt)
    keys = ", ".join(found.partition_names) or "none"
    out.print(
        f"table {found.name}: {found.format}, {len(found.columns)} column(s), "
        f"partition keys: {keys}, {added} partition(s)"
    )
