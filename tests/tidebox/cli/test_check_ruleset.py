"""``tidebox check --ruleset``: a DQDL ruleset on a landed table, printed, as JSON, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tests.support import run_cli
from tests.tidebox.cli.test_app import assert_one_clear_line, env_for
from tests.tidebox.quality.test_dqdl_rules import register
from tidebox.core.settings import Settings
from tidebox.lake.catalog_store import CatalogTable


def test_check_runs_a_ruleset_by_name_or_file(tmp_path: Path) -> None:
    settings = Settings(bucket=tmp_path / "bucket", state_dir=tmp_path / "state")
    folder = settings.bucket_path / "orders" / "day=1"
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"id": [1, 2, 3], "total": [5.0, 7.5, None]}), folder / "o.parquet")
    register(settings, CatalogTable("orders", str(folder.parent), partition_keys=(("day", "int"),)))
    (tmp_path / "expectations").mkdir()
    (tmp_path / "expectations" / "orders.dqdl").write_text(
        'Rules = [ RowCount = 3, IsUnique "id", ColumnValues "total" > 0 with threshold > 0.5 ]\n'
    )
    failing = tmp_path / "strict.dqdl"
    failing.write_text('Rules = [ RowCount = 3, IsComplete "total", Mean "nope" > 1 ]\n')
    env = env_for(settings)

    passed = run_cli(["check", "--ruleset", "orders"], tmp_path, env)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "score 1.00 (3 of 3 rules passed)" in passed.stdout

    failed = run_cli(["check", "--ruleset", str(failing), "--table", "orders"], tmp_path, env)
    assert failed.returncode == 1
    assert "score 0.33" in failed.stdout
    assert "ruleset strict: 2 rule(s) did not pass: Rule_2 FAIL, Rule_3 ERROR" in failed.stderr

    as_json = run_cli(
        ["check", "--ruleset", "orders", "--where", "day = 1", "--format", "json"], tmp_path, env
    )
    document = json.loads(as_json.stdout)
    assert document["Score"] == 1.0 and document["RulesetName"] == "orders"
    assert document["RuleResults"][0]["EvaluatedMetrics"] == {"Dataset.*.RowCount": 3.0}

    bad = tmp_path / "bad.dqdl"
    bad.write_text("Rules = [ RowCount >> 3 ]\n")
    assert_one_clear_line(
        run_cli(["check", "--ruleset", str(bad), "--table", "orders"], tmp_path, env), "bad.dqdl:1:"
    )


def test_check_writes_row_level_outcomes(tmp_path: Path) -> None:
    settings = Settings(bucket=tmp_path / "bucket", state_dir=tmp_path / "state")
    folder = settings.bucket_path / "orders"
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"id": [1, 2, 3], "total": [5.0, 7.5, None]}), folder / "o.parquet")
    register(settings, CatalogTable("orders", str(folder)))
    rules = tmp_path / "orders.dqdl"
    rules.write_text('Rules = [ RowCount = 3, IsComplete "total", ColumnValues "id" < 3 ]\n')
    env = env_for(settings)
    out = tmp_path / "rows.parquet"

    done = run_cli(["check", "--ruleset", str(rules), "--row-level", str(out)], tmp_path, env)
    assert done.returncode == 1  # two rules fail: row 3 has no total and an id of 3
    assert f"row-level outcomes written to {out}: 2 of 3 rows passed" in done.stdout
    written = pq.read_table(out).to_pydict()
    assert written["DataQualityEvaluationResult"] == ["Passed", "Passed", "Failed"]
    assert written["DataQualityRulesFail"][2] == ['IsComplete "total"', 'ColumnValues "id" < 3']
    assert written["DataQualityRulesSkip"][0] == ["RowCount = 3"]

    as_json = run_cli(
        ["check", "--ruleset", str(rules), "--row-level", str(out), "--format", "json"],
        tmp_path,
        env,
    )
    aggregated = json.loads(as_json.stdout)["AggregatedMetrics"]
    assert aggregated["TotalRowsPassed"] == 2.0 and aggregated["TotalRowsFailed"] == 1.0

    assert_one_clear_line(
        run_cli(["check", "--ruleset", str(rules), "--row-level", "r.txt"], tmp_path, env),
        ".parquet or .csv",
    )
    assert_one_clear_line(run_cli(["check", "--row-level", "r.csv"], tmp_path, env), "--ruleset")
