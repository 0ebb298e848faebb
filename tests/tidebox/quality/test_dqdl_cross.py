"""Cross-dataset DQDL rules on small landed tables with known answers: RowCountMatch,
SchemaMatch, AggregateMatch, ReferentialIntegrity and DatasetMatch passing, failing and erring,
and aliases mapped to tables by the ruleset's DataSources."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.tidebox.quality.test_dqdl_rules import register
from tidebox.core.errors import DqdlSyntaxError
from tidebox.core.settings import Settings
from tidebox.lake.catalog_store import CatalogTable
from tidebox.quality.dqdl import parse_ruleset
from tidebox.quality.dqdl.evaluate import run_ruleset
from tidebox.quality.results import QualityResult

ORDERS = {
    "id": [1, 2, 3, 4, 5],
    "cust": [10, 11, 12, 99, None],
    "amount": [1.0, 2.0, 3.0, 4.0, 10.0],
}


def land(settings: Settings, name: str, columns: dict[str, list[object]]) -> None:
    folder = settings.bucket_path / name
    folder.mkdir(parents=True)
    pq.write_table(pa.table(columns), folder / "part-0.parquet")
    register(settings, CatalogTable(name, str(folder)))


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """``orders`` (5 rows) and its references: ``customers`` (4 ids), ``orders_copy`` (same
    schema, row 5's amount differs), ``orders_v2`` (columns renamed), ``dups`` (an id twice)."""
    root = tmp_path_factory.mktemp("dqcross")
    settings = Settings(bucket=root / "bucket", state_dir=root / "state", project_dir=root)
    land(settings, "orders", ORDERS)
    land(settings, "customers", {"id": [10, 11, 12, 13], "name": ["a", "b", "c", "d"]})
    land(settings, "orders_copy", {**ORDERS, "amount": [1.0, 2.0, 3.0, 4.0, 11.0]})
    land(
        settings,
        "orders_v2",
        {"oid": [5, 4, 3, 2, 1], "total": [10.0, 4.0, 3.0, 2.5, 1.0], "cust": [1, 2, 3, 4, 5]},
    )
    land(settings, "dups", {**ORDERS, "id": [1, 1, 3, 4, 5]})
    return settings


def run(settings: Settings, rules: str, header: str = "", **kw: str) -> QualityResult:
    ruleset = parse_ruleset(f"{header}\nRules = [\n{rules}\n]")
    return run_ruleset(settings, ruleset, "orders", **kw)


def outcomes(result: QualityResult) -> list[str]:
    return [r.result for r in result.rules]


def test_row_count_match(settings: Settings) -> None:
    result = run(
        settings,
        'RowCountMatch "customers" = 1.25, RowCountMatch "orders_copy" = 1.0,'
        ' RowCountMatch "customers" < 1',
    )
    assert outcomes(result) == ["PASS", "PASS", "FAIL"]
    assert result.rules[0].evaluated_metrics == {"Dataset.customers.RowCountMatch": 1.25}
    pruned = run(settings, 'RowCountMatch "customers" = 0.5', where="id <= 2")
    assert outcomes(pruned) == ["PASS"]  # the run's --where applies to the checked table


def test_schema_match(settings: Settings) -> None:
    result = run(
        settings,
        'SchemaMatch "orders_copy" = 1.0, SchemaMatch "orders_v2" = 1.0,'
        ' SchemaMatch "orders_v2" between 0.3 and 0.4, SchemaMatch "customers" = 1.0',
    )
    assert outcomes(result) == ["PASS", "FAIL", "PASS", "FAIL"]
    third = pytest.approx(1 / 3)  # cust only: id and amount are not in orders_v2
    assert result.rules[1].evaluated_metrics == {"Dataset.orders_v2.SchemaMatch": third}
    assert result.rules[1].evaluation_message == "33.33% of columns passed the threshold"
    assert result.rules[3].evaluated_metrics == {"Dataset.customers.SchemaMatch": 0.0}
    assert "Column counts do not match" in result.rules[3].evaluation_message


def test_aggregate_match(settings: Settings) -> None:
    result = run(
        settings,
        'AggregateMatch "sum(amount)" "sum(orders_copy.amount)" = 1.0,'
        ' AggregateMatch "sum(amount)" "sum(orders_copy.amount)" > 0.95,'
        ' AggregateMatch "avg(amount)" "avg(tidebox.orders_v2.total)" between 0.97 and 0.98,'
        ' AggregateMatch "max(amount)" "sum(amount)" = 1, AggregateMatch "sum(amount)"'
        ' "sum(customers.name)" = 1, AggregateMatch "sum(amount)" "sum(nowhere.amount)" = 1',
    )
    assert outcomes(result) == ["FAIL", "PASS", "PASS", "ERROR", "ERROR", "ERROR"]
    assert result.rules[0].evaluated_metrics == {"Column.amount.AggregateMatch": 20 / 21}
    assert result.rules[2].evaluated_metrics == {
        "Column.amount,total.AggregateMatch": pytest.approx(4.0 / 4.1)
    }
    assert "sum(column) or avg(column)" in result.rules[3].evaluation_message
    assert "numeric column" in result.rules[4].evaluation_message
    assert "unknown table 'nowhere'" in result.rules[5].evaluation_message


def test_referential_integrity(settings: Settings) -> None:
    result = run(
        settings,
        'ReferentialIntegrity "cust" "customers.id" = 0.6,'
        ' ReferentialIntegrity "cust" "customers.id" = 1.0,'
        ' ReferentialIntegrity "id,cust" "orders_copy.{id,cust}" = 0.8,'
        ' ReferentialIntegrity "cust" "customers.nope" > 0,'
        ' ReferentialIntegrity "cust" "missing.id" > 0,'
        ' ReferentialIntegrity "cust,id" "customers.id" > 0',
    )
    assert outcomes(result) == ["PASS", "FAIL", "PASS", "ERROR", "ERROR", "ERROR"]
    assert result.rules[0].evaluated_metrics == {"Column.customers.ReferentialIntegrity": 0.6}
    # a NULL is never found: row 5's (5, NULL) does not match its own copy
    assert result.rules[2].evaluated_metrics == {"Column.orders_copy.ReferentialIntegrity": 0.8}
    assert "'nope' does not exist in dataset 'customers'" in result.rules[3].evaluation_message
    assert "unknown table 'missing'" in result.rules[4].evaluation_message
    assert "as many columns" in result.rules[5].evaluation_message
    empty = run(settings, 'ReferentialIntegrity "cust" "customers.id" > 0', where="id > 100")
    assert outcomes(empty) == ["FAIL"]
    assert "no data" in empty.rules[0].evaluation_message


def test_dataset_match(settings: Settings) -> None:
    result = run(
        settings,
        'DatasetMatch "orders_copy" "id" = 0.8, DatasetMatch "orders_copy" "id" "cust" = 1.0,'
        ' DatasetMatch "orders_v2" "id->oid" "amount->total" = 0.8,'
        ' DatasetMatch "orders_v2" "id->oid" = 1, DatasetMatch "dups" "id" = 1,'
        ' DatasetMatch "orders_copy" "id" = 1.0',
    )
    assert outcomes(result) == ["PASS", "PASS", "PASS", "ERROR", "ERROR", "FAIL"]
    assert result.rules[0].evaluated_metrics == {"Dataset.orders_copy.DatasetMatch": 0.8}
    assert result.rules[2].evaluated_metrics == {"Dataset.orders_v2.DatasetMatch": 0.8}
    assert "Non key columns" in result.rules[3].evaluation_message
    assert "keys must be unique" in result.rules[4].evaluation_message


def test_aliases_map_to_tables(settings: Settings) -> None:
    header = (
        'DataSources = { "Primary": "orders", "reference": "customers", "copy": "orders_copy" }'
    )
    result = run(
        settings,
        'RowCountMatch "reference" = 1.25, ReferentialIntegrity "cust" "reference.{id}" = 0.6,'
        ' DatasetMatch "copy" "id" = 0.8, AggregateMatch "sum(amount)" "sum(copy.amount)" < 1,'
        ' RowCountMatch "customers" = 1.25',
        header,
    )
    assert outcomes(result) == ["PASS"] * 5
    assert result.rules[0].evaluated_metrics == {"Dataset.reference.RowCountMatch": 1.25}
    unmapped = run(settings, 'RowCountMatch "reference" = 1.25')
    assert outcomes(unmapped) == ["ERROR"]  # no mapping: no catalog table named reference


def test_data_sources_keys_glue_owns_are_checked() -> None:
    with pytest.raises(DqdlSyntaxError, match='unsupported key "primary"'):
        parse_ruleset('DataSources = { "primary": "orders" }\nRules = [ RowCount > 0 ]')
    with pytest.raises(DqdlSyntaxError, match="takes a string"):
        parse_ruleset('DataSources = { "ref": ["a", "b"] }\nRules = [ RowCount > 0 ]')


def test_cross_rules_keep_the_one_aggregate_scan(settings: Settings, tmp_path: Path) -> None:
    result = run(
        settings,
        'RowCount = 5, Sum "amount" = 20, RowCountMatch "customers" > 1,'
        ' AggregateMatch "sum(amount)" "avg(amount)" = 5',
    )
    assert outcomes(result) == ["PASS"] * 4
    assert result.queries == 2  # the aggregate scan (with the table's sums) + the reference count
