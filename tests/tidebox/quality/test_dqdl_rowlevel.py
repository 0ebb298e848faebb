"""Row-level outcomes: every row written with Glue's DataQualityRulesPass/Fail/Skip and
DataQualityEvaluationResult, known per row, and the run's RowCounts agreeing with the file."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.tidebox.quality.test_dqdl_rules import register
from tidebox.core.errors import OutputFileError
from tidebox.core.settings import Settings
from tidebox.lake.catalog_store import CatalogTable
from tidebox.quality.dqdl import Ruleset, parse_ruleset
from tidebox.quality.dqdl.evaluate import run_ruleset
from tidebox.quality.results import RowCounts, result_document

RULES = [
    'IsComplete "name"',
    'IsUnique "name"',
    'ReferentialIntegrity "cust" "customers.id" >= 0.5',
    "RowCount = 4",
    'IsComplete "missing"',
    '(IsComplete "name") and (ColumnValues "id" < 4)',
]
COMPLETE, UNIQUE, INTEGRITY, COUNT, MISSING, BOTH = RULES
SKIPPED = [COUNT, MISSING]  # a dataset-level rule, and one that could not run


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("dqrows")
    settings = Settings(bucket=root / "bucket", state_dir=root / "state", project_dir=root)
    for name, columns in {
        "visits": {"id": [1, 2, 3, 4], "name": ["a", "b", None, "b"], "cust": [10, 99, 11, 10]},
        "customers": {"id": [10, 11, 12]},
    }.items():
        folder = settings.bucket_path / name
        folder.mkdir(parents=True)
        pq.write_table(pa.table(columns), folder / "part-0.parquet")
        register(settings, CatalogTable(name, str(folder)))
    return settings


def ruleset() -> Ruleset:
    return parse_ruleset("Rules = [\n" + ",\n".join(RULES) + "\n]")


def read(path: Path) -> dict[int, tuple[list[str], list[str], list[str], str]]:
    reader = "read_parquet" if path.suffix == ".parquet" else "read_csv"
    rows = duckdb.sql(
        f"SELECT id, DataQualityRulesPass, DataQualityRulesFail, DataQualityRulesSkip,"
        f" DataQualityEvaluationResult FROM {reader}('{path}') ORDER BY id"
    ).fetchall()
    return {r[0]: (r[1], r[2], r[3], r[4]) for r in rows}


def test_every_row_with_its_outcomes(settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "out" / "visits.parquet"
    result = run_ruleset(settings, ruleset(), "visits", row_level=out)
    assert [r.result for r in result.rules] == ["FAIL", "FAIL", "PASS", "PASS", "ERROR", "FAIL"]
    rows = read(out)
    assert rows[1] == ([COMPLETE, UNIQUE, INTEGRITY, BOTH], [], SKIPPED, "Passed")
    assert rows[2] == ([COMPLETE, BOTH], [UNIQUE, INTEGRITY], SKIPPED, "Failed")  # b twice, 99
    assert rows[3] == ([INTEGRITY], [COMPLETE, UNIQUE, BOTH], SKIPPED, "Failed")  # NULL name
    assert rows[4] == ([COMPLETE, INTEGRITY], [UNIQUE, BOTH], SKIPPED, "Failed")  # id 4 !< 4
    assert result.rows == RowCounts(4, 1, 3)
    columns = pq.read_schema(out).names
    assert columns == [
        "id", "name", "cust", "DataQualityRulesPass", "DataQualityRulesFail",
        "DataQualityRulesSkip", "DataQualityEvaluationResult",
    ]  # fmt: skip
    aggregated = result_document(result)["AggregatedMetrics"]
    assert aggregated["TotalRowsProcessed"] == 4.0 and aggregated["TotalRowsFailed"] == 3.0


def test_counts_agree_without_a_file_and_with_where(settings: Settings, tmp_path: Path) -> None:
    # its row tests need joins: without --row-level the run leaves rows uncounted rather than
    # pay for another pass over the table
    assert run_ruleset(settings, ruleset(), "visits").rows is None
    whole = run_ruleset(settings, ruleset(), "visits", row_level=tmp_path / "all.csv")
    assert whole.rows == RowCounts(4, 1, 3)
    out = tmp_path / "visits.csv"
    result = run_ruleset(settings, ruleset(), "visits", "id <= 2", row_level=out)
    written = duckdb.sql(
        f"SELECT count(*), count(*) FILTER (WHERE DataQualityEvaluationResult = 'Passed')"
        f" FROM read_csv('{out}')"
    ).fetchone()
    # b once among ids 1-2: only row 2's customer 99 fails
    assert result.rows == RowCounts(2, 1, 1) and written == (2, 1)


def test_no_row_level_rule_skips_them_all(settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "plain.parquet"
    result = run_ruleset(
        settings,
        parse_ruleset('Rules = [ RowCount = 4, Mean "id" > 1 ]'),
        "visits",
        row_level=out,
    )
    rows = read(out)
    assert rows[1] == ([], [], ["RowCount = 4", 'Mean "id" > 1'], "Passed")
    assert result.rows == RowCounts(4, 4, 0)


def test_an_unknown_output_format_fails_first(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(OutputFileError, match=r"\.parquet or \.csv"):
        run_ruleset(settings, ruleset(), "visits", row_level=tmp_path / "x.json")


def test_a_part_that_could_not_run_skips_its_composite(settings: Settings, tmp_path: Path) -> None:
    rules = (
        '(ColumnValues "id" > 5) and (ReferentialIntegrity "name" "customers.id" > 0),'
        ' IsComplete "name"'
    )  # names are no numbers: the join fails as it runs, and the composite still FAILs
    out = tmp_path / "partial.parquet"
    result = run_ruleset(settings, parse_ruleset(f"Rules = [ {rules} ]"), "visits", row_level=out)
    assert [r.result for r in result.rules] == ["FAIL", "FAIL"]
    rows = read(out)
    composite = result.rules[0].description
    assert rows[1] == ([COMPLETE], [], [composite], "Passed")
    assert rows[3] == ([], [COMPLETE], [composite], "Failed")
    assert result.rows == RowCounts(4, 3, 1)
