"""Run a suite against a landed table: the glue between the catalog, DuckDB and the checker."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tidebox.core.project import suite_file as project_suite
from tidebox.core.settings import Settings, SuiteSpec
from tidebox.lake.query import run_query
from tidebox.lake.sql import quote
from tidebox.lake.tables import find_table
from tidebox.quality.results import QualityResult
from tidebox.quality.suites import CheckResult, run_suite, suite_path


def find_suite(settings: Settings, suite: str, spec: SuiteSpec | None = None) -> Path:
    """The file of ``suite``: the one its tidebox.yaml entry (``spec``, looked up when not
    given) names, else the project's ``expectations/<suite>.json``, else the one packaged with
    tidebox (the demo's)."""
    spec = spec or settings.suite(suite)
    if spec is not None and spec.file:
        return Path(spec.file)
    return project_suite(settings.project_dir, suite) or suite_path(suite)


def check_table(
    settings: Settings,
    suite: str,
    table: str | None = None,
    suite_file: str | Path | None = None,
) -> CheckResult:
    """Validate the rows of ``table`` (default: the suite's declared table) with ``suite``.

    The suite file is ``suite_file`` when given, else the one :func:`find_suite` finds.
    """
    spec = settings.suite(suite)
    table_name = table or (spec.table if spec else suite)
    path = Path(suite_file) if suite_file else find_suite(settings, suite, spec)
    landed = find_table(settings, table_name)
    frame = run_query(settings, f"SELECT * FROM {quote(landed.name)}").table.to_pandas()
    return run_suite(frame, path)


def check_table_result(
    settings: Settings,
    suite: str,
    table: str | None = None,
    suite_file: str | Path | None = None,
) -> QualityResult:
    """:func:`check_table` in Glue Data Quality's result shape, with the run's times."""
    spec = settings.suite(suite)
    table_name = table or (spec.table if spec else suite)
    started = datetime.now(UTC)
    checked = check_table(settings, suite, table_name, suite_file)
    return checked.as_quality_result(table_name, started, datetime.now(UTC))
