"""Rules over earlier runs, end to end: each run is recorded, dynamic conditions and
DetectAnomalies read the table's history."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tests.tidebox.quality.test_dqdl_rules import register
from tidebox.core.settings import Settings
from tidebox.lake.catalog_store import CatalogTable
from tidebox.quality.dqdl import parse_ruleset
from tidebox.quality.dqdl.evaluate import run_ruleset
from tidebox.quality.dqdl.history import list_runs, metric_history

RULES = """Rules = [
    RowCount > avg(last(3)) * 0.9,
    DetectAnomalies "RowCount",
    Mean "value" between min(last(5)) - 1 and max(last(5)) + 1
]"""


def land(settings: Settings, rows: int) -> None:
    folder = settings.bucket_path / "counts"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"value": [1.0] * rows}), folder / "part-0.parquet")


def test_dynamic_rules_and_anomalies_across_runs(tmp_path: Path) -> None:
    settings = Settings(
        bucket=tmp_path / "bucket", state_dir=tmp_path / "state", project_dir=tmp_path
    )
    land(settings, 100)
    register(settings, CatalogTable("counts", str(settings.bucket_path / "counts")))
    ruleset = parse_ruleset(RULES, str(tmp_path / "counts_rules.dqdl"))

    results = []
    for rows in (100, 110, 120, 115, 118, 50):
        land(settings, rows)
        results.append(run_ruleset(settings, ruleset, "counts"))

    first = results[0].rules
    assert first[0].result == "PASS" and first[0].evaluated_rule == "RowCount > 0.0"
    assert first[1].result == "PASS" and "3" in first[1].evaluation_message  # too few runs
    fourth = results[3].rules[0]  # after 100, 110, 120: 115 > 99.0
    assert fourth.result == "PASS" and fourth.evaluated_rule == "RowCount > 99.0"
    assert [r.rules[1].result for r in results[3:5]] == ["PASS", "PASS"]
    last = results[5].rules
    assert last[0].result == "FAIL"  # 50 rows against about 110 before
    assert last[1].result == "FAIL"  # and an anomaly against its own history
    assert last[1].evaluated_metrics["Dataset.*.RowCount"] == 50.0
    assert last[2].result == "PASS"  # the mean stayed 1.0
    assert metric_history(settings, "counts", "Dataset.*.RowCount", "counts_rules") == [
        50.0,
        118.0,
        115.0,
        120.0,
        110.0,
        100.0,
    ]
    assert len(list_runs(settings, "counts")) == 6
