"""How query results and catalog tables are shown: Athena's stats line, the output formats
(table, CSV, JSON, Parquet) and saved results; shared by ``tidebox query`` and its shell."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from rich.table import Table

from tidebox.cli.console import err, out
from tidebox.lake.results import save_result


def show_result(settings: Any, sql: str, fmt: str, output: Path | None) -> None:
    from tidebox.lake.query import run_query

    result = run_query(settings, sql)
    if result.message:
        out.print(result.message)
    elif output is None or fmt != "parquet":
        print_rows(result.table.to_pylist(), result.table.column_names, fmt)
    if output is not None:
        saved = save_result(result, output, fmt)
        err.print(f"results saved to {saved}")
    err.print(stats_line(result))


def stats_line(result: Any) -> str:
    """What Athena's console shows under a result."""
    scanned = result.bytes_scanned
    return (
        f"Run time: {result.seconds:.3f} sec, Data scanned: {_size(scanned)} "
        f"({scanned:,} bytes, {result.files_scanned} file(s)), "
        f"Cost: ${result.cost_usd:.8f} (billed {result.billed_bytes // (1 << 20)} MB), "
        f"{result.rows:,} row(s)"
    )


def _size(count: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if count >= size:
            return f"{count / size:.2f} {unit}"
    return f"{count} B"


def print_rows(rows: list[dict[str, Any]], columns: list[str], fmt: str) -> None:
    if fmt == "json":
        for row in rows:
            sys.stdout.write(json.dumps(row, default=str) + "\n")
    elif fmt == "csv":
        import csv

        # the csv module ends rows with CRLF by default; a pipe into cut, awk or a shell
        # comparison wants Unix line ends, as the saved results (and Athena's) have
        writer = csv.DictWriter(sys.stdout, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        table = Table()
        for column in columns:
            table.add_column(column)
        for row in rows:
            table.add_row(*("" if row[c] is None else str(row[c]) for c in columns))
        out.print(table)


def print_tables(settings: Any) -> None:
    from tidebox.lake.tables import list_tables

    table = Table("name", "format", "location", "partition keys", "source")
    for t in list_tables(settings):
        table.add_row(t.name, t.format, t.location, ", ".join(t.partition_names), t.source)
    out.print(table)


def print_description(settings: Any, name: str) -> None:
    from tidebox.lake.tables import describe_table

    d = describe_table(settings, name)
    t = d.table
    out.print(f"[bold]{t.name}[/] ({t.format}, from {t.source}) at {t.location}")
    columns = Table("column", "type", "")
    for column, kind in t.columns:
        columns.add_row(column, kind, "")
    for column, kind in t.partition_keys:
        columns.add_row(column, kind, "partition key")
    out.print(columns)
    shown = ", ".join(d.partitions[:5]) + (" ..." if len(d.partitions) > 5 else "")
    if t.partition_keys:
        out.print(f"partitions: {len(d.partitions):,}" + (f" ({shown})" if shown else ""))
    rows = "?" if d.rows is None else f"{d.rows:,}"
    out.print(f"files: {d.files:,}, bytes: {d.bytes:,}, rows: {rows}")


def print_detection(detection: Any, title: str = "detection") -> None:
    """The detection measures: one row per kind of event, then the totals."""
    grid = Table(title=title)
    for column in ("events", "injected", "caught", "missed"):
        grid.add_column(column, justify="right" if column != "events" else "left")
    for kind in detection.kinds:
        grid.add_row(kind.kind, f"{kind.events:,}", f"{kind.caught:,}", f"{kind.missed:,}")
    grid.add_row(
        "all",
        f"{detection.events:,}",
        f"{detection.caught:,}",
        f"{detection.events - detection.caught:,}",
        style="bold",
    )
    out.print(grid)
    median, p90 = detection.delay_s(0.5), detection.delay_s(0.9)
    delays = "none caught" if median is None else f"median {median:,.0f} s, p90 {p90:,.0f} s"
    out.print(
        f"recall {detection.recall:.3f}  precision {detection.precision:.3f}  "
        f"F1 {detection.f1:.3f}  ({detection.hits:,} of {detection.episodes:,} alarm episodes "
        f"hit an event)\ndetection delay {delays}\n"
        f"false alarms {detection.false_alarms:,} "
        f"({detection.false_alarms_per_key_day:.2f} per device-day)"
    )
