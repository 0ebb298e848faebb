"""A DQDL ruleset on one Parquet file (a delivered object) rather than a catalog table: the
rules see that file's rows, and its path's partition keys as columns."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tidebox.core.errors import QueryError
from tidebox.core.settings import Settings
from tidebox.quality.dqdl import parse_ruleset
from tidebox.quality.dqdl.evaluate import run_ruleset_on_file

RULES = parse_ruleset(
    """Rules = [
        RowCount = 3,
        IsComplete "v",
        ColumnValues "v" <= 2,
        ColumnExists "dt",
        CustomSql "SELECT count(*) FROM primary WHERE v > 1" = 1
    ]""",
    "file.dqdl",
)


def test_a_ruleset_sees_one_file_and_its_partition_keys(tmp_path: Path) -> None:
    settings = Settings(bucket=tmp_path / "bucket", state_dir=tmp_path / "state")
    folder = tmp_path / "bucket" / "t" / "dt=2026-01-01"
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"v": [0, 1, 2]}), folder / "a.parquet")
    pq.write_table(pa.table({"v": [5, None, 7, 8]}), folder / "b.parquet")  # not looked at

    result = run_ruleset_on_file(settings, RULES, str(folder / "a.parquet"), "t")
    assert [r.result for r in result.rules] == ["PASS"] * 5
    assert result.table == "t" and result.score == 1.0

    other = run_ruleset_on_file(settings, RULES, str(folder / "b.parquet"), "t")
    assert [r.result for r in other.rules] == ["FAIL", "FAIL", "FAIL", "PASS", "FAIL"]


def test_an_unreadable_file_is_a_query_error(tmp_path: Path) -> None:
    settings = Settings(bucket=tmp_path / "bucket", state_dir=tmp_path / "state")
    with pytest.raises(QueryError):
        run_ruleset_on_file(settings, RULES, str(tmp_path / "missing.parquet"), "t")


def test_freshness_of_naive_timestamps_and_dates_is_measured_in_utc(tmp_path: Path) -> None:
    """Naive timestamps (and dates) are UTC's: compared without a per-row time-zone cast."""
    import datetime as dt

    settings = Settings(bucket=tmp_path / "bucket", state_dir=tmp_path / "state")
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    seen = [now - dt.timedelta(hours=h) for h in (1, 5, 30, 50)]
    path = tmp_path / "f.parquet"
    pq.write_table(pa.table({"seen": seen, "day": [s.date() for s in seen]}), path)
    rules = parse_ruleset(
        'Rules = [ DataFreshness "seen" <= 24 hours, DataFreshness "seen" <= 3 days,'
        ' DataFreshness "day" <= 4 days ]',
        "fresh.dqdl",
    )
    result = run_ruleset_on_file(settings, rules, str(path), "f")
    assert [r.result for r in result.rules] == ["FAIL", "PASS", "PASS"]
    assert result.rules[0].evaluated_metrics == {"Column.seen.DataFreshness.Compliance": 0.5}
