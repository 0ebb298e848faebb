"""How ``tidebox check`` prints a data-quality run: a table of rule outcomes under the score, or
Glue's GetDataQualityResult JSON with ``--format json``."""

from __future__ import annotations

import json
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from tidebox.cli.console import out
from tidebox.quality.results import QualityResult, result_document

MARKS = {"PASS": "[green]PASS[/]", "FAIL": "[red]FAIL[/]", "ERROR": "[yellow]ERROR[/]"}
FORMATS = ("table", "json")


def print_quality(result: QualityResult, output: str = "table") -> None:
    if output == "json":
        print(json.dumps(result_document(result), indent=2))
        return
    kind = "suite" if result.kind == "great_expectations" else "ruleset"
    passed = result.count("PASS")
    grid = Table(
        title=f"{kind} {result.ruleset} on {result.table}: score {result.score:.2f} "
        f"({passed} of {len(result.rules)} rules passed)"
    )
    for column in ("rule", "result", "description", "message"):
        grid.add_column(column)
    for rule in result.rules:
        grid.add_row(
            rule.name,
            MARKS.get(rule.result, rule.result),
            escape(rule.description),
            escape(rule.evaluation_message),
        )
    out.print(grid)
    for analyzer in result.analyzers:
        figures = ", ".join(f"{k} {v:g}" for k, v in analyzer.evaluated_metrics.items())
        out.print(f"{escape(analyzer.description)}: {escape(figures)}", highlight=False)


def print_row_level(result: QualityResult, path: Path) -> None:
    """Where the row-level outcomes went, and how many rows passed every rule."""
    rows = result.rows
    counts = f": {rows.passed:,} of {rows.processed:,} rows passed" if rows else ""
    out.print(f"row-level outcomes written to {escape(str(path))}{counts}", highlight=False)
