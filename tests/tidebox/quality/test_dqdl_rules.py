"""The DQDL evaluator on small landed tables with known answers: each rule type passing, failing
and erroring, composites, where and thresholds, the score, and partitions pruned by --where."""

from __future__ import annotations

import datetime as dt
import math

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tidebox.core.settings import Settings
from tidebox.lake.catalog import catalog_path, discover_partitions
from tidebox.lake.catalog_store import Catalog, CatalogTable
from tidebox.quality.dqdl import parse_ruleset
from tidebox.quality.dqdl.evaluate import run_ruleset
from tidebox.quality.results import QualityResult, result_document

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def register(settings: Settings, table: CatalogTable) -> None:
    catalog = Catalog(catalog_path(settings))
    try:
        catalog.put(table)
        discover_partitions(settings, catalog, table)
    finally:
        catalog.close()


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """``people``: 8 rows, one file; ``events``: 3 days x 2 hourly partitions, 10 rows each."""
    root = tmp_path_factory.mktemp("dq")
    settings = Settings(bucket=root / "bucket", state_dir=root / "state", project_dir=root)
    people = settings.bucket_path / "people"
    people.mkdir(parents=True)
    pq.write_table(
        pa.table(
            {
                "id": [1, 2, 3, 4, 5, 6, 7, 8],
                "name": ["ann", "bob", "cy", "dee", "ed", "flo", "gus", "  "],
                "age": [30, 40, 50, 60, 70, 80, 90, None],
                "score": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
                "team": ["a", "a", "b", "b", "c", "c", "c", None],
                "code": ["x1", "x2", "x3", "x4", "x5", "x6", "x7", "oops"],
                "seen": pa.array([NOW - dt.timedelta(hours=h) for h in (1, 2, 3, 4, 5, 6, 30, 50)]),
            }
        ),
        people / "part-0.parquet",
    )
    register(settings, CatalogTable("people", str(people)))
    events = settings.bucket_path / "events"
    for day in ("2026-01-01", "2026-01-02", "2026-01-03"):
        for hour in ("00", "01"):
            folder = events / f"dt={day}" / f"hour={hour}"
            folder.mkdir(parents=True)
            values = list(range(10))
            pq.write_table(
                pa.table({"v": values, "k": [f"k{i}" for i in values]}), folder / "e.parquet"
            )
    register(
        settings,
        CatalogTable(
            "events",
            str(events),
            columns=(("v", "bigint"), ("k", "string")),
            partition_keys=(("dt", "string"), ("hour", "string")),
        ),
    )
    return settings


def run(settings: Settings, rules: str, table: str = "people", **kw: str) -> QualityResult:
    return run_ruleset(settings, parse_ruleset(f"Rules = [\n{rules}\n]"), table, **kw)


def outcomes(result: QualityResult) -> list[str]:
    return [r.result for r in result.rules]


def test_dataset_rules(settings: Settings) -> None:
    result = run(
        settings,
        'RowCount = 8, RowCount > 8, RowCount = 2 where "age > 70", ColumnCount = 7,'
        ' ColumnExists "name", ColumnExists "nope",'
        ' ColumnNamesMatchPattern "[a-z]+", ColumnNamesMatchPattern "[a-m]+"',
    )
    assert outcomes(result) == ["PASS", "FAIL", "PASS", "PASS", "PASS", "FAIL", "PASS", "FAIL"]
    assert result.rules[0].evaluated_metrics == {"Dataset.*.RowCount": 8.0}
    assert (
        result.rules[1].evaluation_message == "Value: 8 does not meet the constraint requirement!"
    )
    assert result.rules[3].evaluated_metrics == {"Dataset.*.ColumnCount": 7.0}
    assert "age" not in result.rules[7].evaluation_message
    assert "seen" in result.rules[7].evaluation_message


def test_completeness_and_uniqueness(settings: Settings) -> None:
    result = run(
        settings,
        'Completeness "age" = 0.875, IsComplete "age", IsComplete "age" where "id < 8",'
        ' Uniqueness "team" = 0.0, Uniqueness "id" = 1.0, IsUnique "id", IsUnique "team",'
        ' IsPrimaryKey "id", IsPrimaryKey "age", IsPrimaryKey "team" "id",'
        ' UniqueValueRatio "code" = 1.0, DistinctValuesCount "team" = 3,'
        ' Uniqueness "team" "id" = 1',
    )
    assert outcomes(result) == [
        "PASS", "FAIL", "PASS", "PASS", "PASS", "PASS", "FAIL", "PASS", "FAIL", "FAIL", "PASS",
        "PASS", "PASS",
    ]  # fmt: skip
    assert result.rules[0].evaluated_metrics == {"Column.age.Completeness": 0.875}
    assert result.rules[8].evaluated_metrics["Column.age.Completeness"] == 0.875
    assert result.rules[12].evaluated_metrics == {"Multicolumn.team,id.Uniqueness": 1.0}


def test_statistics(settings: Settings) -> None:
    scores = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    mean = sum(scores) / 8
    variance = sum((s - mean) ** 2 for s in scores) / 8
    result = run(
        settings,
        'Mean "score" = 4.5, Sum "score" between 35 and 37, StandardDeviation "score" > 2.29,'
        ' Variance "score" < 5, ColumnCorrelation "score" "id" > 0.99, Mean "name" > 1,'
        ' Entropy "team" > 1, Mean "score" > 4.5 where "id > 4"',
    )
    assert outcomes(result) == ["PASS", "PASS", "PASS", "FAIL", "PASS", "ERROR", "PASS", "PASS"]
    assert result.rules[3].evaluated_metrics["Column.score.Variance"] == pytest.approx(variance)
    assert "numeric column" in result.rules[5].evaluation_message
    counts = [2, 2, 3]  # a, b, c; the NULL is not a value but counts among the rows
    entropy = -sum(n / 8 * math.log(n / 8) for n in counts)
    assert result.rules[6].evaluated_metrics["Column.team.Entropy"] == pytest.approx(entropy)


def test_column_values(settings: Settings) -> None:
    result = run(
        settings,
        'ColumnValues "age" > 20, ColumnValues "age" between 29 and 90,'
        ' ColumnValues "team" in ["a", "b", "c", NULL], ColumnValues "team" in ["a", "b"],'
        ' ColumnValues "code" matches "x[0-9]", ColumnValues "code" matches "x[0-9]"'
        ' with threshold > 0.8, ColumnValues "name" != WHITESPACES_ONLY,'
        ' ColumnValues "age" <= 70 where "team = \'a\'", ColumnValues "seen" > (now() - 24 hours)'
        ' with threshold >= 0.75, ColumnValues "age" > 20 with threshold = 0.875,'
        ' ColumnValues "name" > 3',
    )
    assert outcomes(result) == [
        "FAIL", "FAIL", "PASS", "FAIL", "FAIL", "PASS", "FAIL", "PASS", "PASS", "PASS", "ERROR",
    ]  # fmt: skip
    first = result.rules[0]
    assert first.evaluated_metrics == {
        "Column.age.ColumnValues.Compliance": 0.875,
        "Column.age.Minimum": 30.0,
        "Column.age.Maximum": 90.0,
    }
    assert first.evaluation_message == "87.50% of rows passed"
    assert result.rules[1].evaluated_metrics["Column.age.ColumnValues.Compliance"] == 0.75
    assert "type mismatch" in result.rules[10].evaluation_message


def test_length_type_and_freshness(settings: Settings) -> None:
    result = run(
        settings,
        'ColumnLength "code" = 2, ColumnLength "code" <= 4, ColumnLength "age" > 1,'
        ' ColumnDataType "age" = "Integer", ColumnDataType "name" = "Integer",'
        ' ColumnDataType "code" in ["Long", "String"],'
        ' DataFreshness "seen" <= 24 hours, DataFreshness "seen" <= 3 days,'
        ' DataFreshness "seen" between 1 minutes and 49 hours',
    )
    assert outcomes(result) == [
        "FAIL", "PASS", "ERROR", "PASS", "FAIL", "PASS", "FAIL", "PASS", "FAIL"
    ]  # fmt: skip
    assert result.rules[0].evaluated_metrics["Column.code.MaximumLength"] == 4.0
    assert result.rules[6].evaluated_metrics == {"Column.seen.DataFreshness.Compliance": 0.75}


def test_custom_sql(settings: Settings) -> None:
    result = run(
        settings,
        'CustomSql "select count(*) from primary where age > 50" = 4,'
        ' CustomSql "select id from primary where age > 50" with threshold = 0.5,'
        ' CustomSql "select id from primary where age > 10",'
        ' CustomSql "select nope from primary" > 1',
    )
    assert outcomes(result) == ["PASS", "PASS", "FAIL", "ERROR"]
    assert result.rules[0].evaluated_metrics == {"Dataset.*.CustomSQL": 4.0}
    message = result.rules[3].evaluation_message
    assert "nope" in message and "\n" not in message


def test_errors_never_pass_silently(settings: Settings) -> None:
    result = run(
        settings,
        'IsComplete "missing", ColumnValues "age" > 1 with threshold > avg(last(3)),'
        ' ReferentialIntegrity "id" "other.id" = 1,'
        ' ColumnValues "age" > 1 where "no_such_column > 1", RowCount = 8',
    )
    assert outcomes(result) == ["ERROR", "ERROR", "ERROR", "ERROR", "PASS"]
    assert "does not exist" in result.rules[0].evaluation_message
    assert "not supported yet" in result.rules[1].evaluation_message
    assert "unknown table 'other'" in result.rules[2].evaluation_message  # no such reference
    assert "no_such_column" in result.rules[3].evaluation_message


def test_composites_score_and_document(settings: Settings) -> None:
    result = run(
        settings,
        '(RowCount = 8) and (IsComplete "id"), (RowCount = 1) or (IsComplete "id"),'
        ' (RowCount = 1) and (IsComplete "id"), (ColumnValues "id" > 0) and'
        ' (ColumnValues "age" > 0)',
    )
    assert outcomes(result) == ["PASS", "PASS", "FAIL", "FAIL"]
    assert result.rules[0].evaluated_metrics == {
        "Dataset.*.RowCount": 8.0,
        "Column.id.Completeness": 1.0,
    }
    assert result.score == 0.5
    document = result_document(result)
    assert document["AggregatedMetrics"] == {
        "TotalRulesProcessed": 4.0,
        "TotalRulesPassed": 2.0,
        "TotalRulesFailed": 2.0,
        "TotalRowsProcessed": 8.0,
        "TotalRowsPassed": 7.0,  # the row whose age is NULL fails the last rule
        "TotalRowsFailed": 1.0,
    }
    assert document["RuleResults"][2]["Name"] == "Rule_3"


def test_one_aggregate_query_for_many_rules(settings: Settings) -> None:
    result = run(
        settings,
        'RowCount > 0, IsComplete "id", Completeness "age" > 0.5, Mean "score" > 0,'
        ' Sum "score" > 0, ColumnValues "age" > 0, ColumnValues "team" in ["a", "b", "c"],'
        ' ColumnLength "code" < 10, DistinctValuesCount "team" > 1, Variance "score" > 0',
    )
    assert result.count("ERROR") == 0
    assert result.queries == 1


def test_analyzers(settings: Settings) -> None:
    ruleset = parse_ruleset(
        'Rules = [ RowCount > 0 ]\nAnalyzers = [ RowCount, AllStatistics "score" ]'
    )
    result = run_ruleset(settings, ruleset, "people")
    assert result.analyzers[0].evaluated_metrics == {"Dataset.*.RowCount": 8.0}
    stats = result.analyzers[1].evaluated_metrics
    assert stats["Column.score.Mean"] == 4.5
    assert stats["Column.score.Maximum"] == 8.0
    assert stats["Column.score.Uniqueness"] == 1.0


def test_where_on_partition_keys_reads_only_their_files(settings: Settings) -> None:
    rules = 'RowCount = 10, Sum "v" = 45, IsUnique "k"'
    pruned = run(settings, rules, "events", where="dt = '2026-01-02' AND hour = '01'")
    assert outcomes(pruned) == ["PASS", "PASS", "PASS"]
    # the one partition's file, read by the aggregate and the uniqueness query; rows are not
    # counted (IsUnique judges rows by a join, which would cost another pass)
    assert pruned.files_scanned == 2 and pruned.rows is None
    whole = run(settings, rules, "events")
    assert outcomes(whole) == ["FAIL", "FAIL", "FAIL"]
    assert whole.files_scanned == 12
    assert 0 < pruned.bytes_scanned < whole.bytes_scanned / 3


def test_a_ruleset_by_name_from_the_project(settings: Settings) -> None:
    folder = settings.project_dir / "expectations"
    folder.mkdir(exist_ok=True)
    (folder / "people.dqdl").write_text("Rules = [ RowCount = 8 ]\n")
    result = run_ruleset(settings, "people", "people")
    assert result.ruleset == "people" and outcomes(result) == ["PASS"]


def test_a_bad_run_where_is_one_error(settings: Settings) -> None:
    from tidebox.core.errors import QueryError

    with pytest.raises(QueryError, match="--where"):
        run(settings, "RowCount > 0", where="no_such_column = 1")
