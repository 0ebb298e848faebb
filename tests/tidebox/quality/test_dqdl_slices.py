"""The uniqueness family counted in slices of files whose key ranges do not overlap: the same
answers as one GROUP BY, and no slicing where a key could span two slices."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tidebox.core.settings import Settings
from tidebox.lake.catalog import catalog_path, discover_partitions, reading_catalog
from tidebox.lake.catalog_store import Catalog, CatalogTable
from tidebox.lake.session import Session
from tidebox.quality.dqdl import parse_ruleset, slices
from tidebox.quality.dqdl.evaluate import run_ruleset

RULES = parse_ruleset(
    'Rules = [ Uniqueness "k" "t" > 0, UniqueValueRatio "t" > 0, Entropy "t" > 0,'
    ' IsPrimaryKey "k" "t", Uniqueness "k" > 0 ]'
)
START = dt.datetime(2026, 1, 1)


def land(
    root: Path, name: str, hours: list[list[tuple[str, int | None]]], shift: bool = True
) -> Settings:
    """A table partitioned by hour; each hour's rows are (key, minute of that hour, or of the
    first hour when not ``shift``: then the files' time ranges overlap)."""
    settings = Settings(bucket=root / "bucket", state_dir=root / "state", project_dir=root)
    for hour, rows in enumerate(hours):
        folder = settings.bucket_path / name / f"hour={hour:02d}"
        folder.mkdir(parents=True)
        times = [None if m is None else START + dt.timedelta(hours=hour * shift, minutes=m)
                 for _, m in rows]  # fmt: skip
        pq.write_table(pa.table({"k": [k for k, _ in rows], "t": times}), folder / "p.parquet")
    catalog = Catalog(catalog_path(settings))
    try:
        table = CatalogTable(
            name,
            str(settings.bucket_path / name),
            columns=(("k", "string"), ("t", "timestamp")),
            partition_keys=(("hour", "string"),),
        )
        catalog.put(table)
        discover_partitions(settings, catalog, table)
    finally:
        catalog.close()
    return settings


HOURS: list[list[tuple[str, int | None]]] = [
    [("a", 0), ("a", 0), ("b", 0), ("c", 5)],
    [("a", 0), ("b", 1), ("b", 1), ("b", 1)],
    [("a", 9), ("d", 9), ("e", 9)],
]


def metrics(settings: Settings, name: str, where: str | None = None) -> list[dict[str, float]]:
    return [r.evaluated_metrics for r in run_ruleset(settings, RULES, name, where).rules]


def test_slices_give_one_group_bys_answers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = land(tmp_path, "readings", HOURS)
    whole = metrics(settings, "readings")
    at_once = run_ruleset(settings, RULES, "readings").queries
    monkeypatch.setattr(slices, "SLICE_ROWS", 1)  # every file its own slice
    assert metrics(settings, "readings") == [pytest.approx(m) for m in whole]
    # (k, t) and t in 3 slices each; k alone cannot split
    assert run_ruleset(settings, RULES, "readings").queries == at_once + 2 * (3 - 1)
    assert whole[0] == {"Multicolumn.k,t.Uniqueness": 6 / 11}
    assert metrics(settings, "readings", where="hour = '01'")[0] == {
        "Multicolumn.k,t.Uniqueness": 1 / 4
    }
    with reading_catalog(settings) as catalog:
        session = Session(settings, catalog)
        session.prepare('"readings"')
        files = slices.table_files(session, catalog.table("readings"), "hour <> '01'")
        assert files is not None and len(files.uris) == 2  # pruned on the partition values
        types = {"k": "VARCHAR", "t": "TIMESTAMP"}
        assert len(slices.slice_relations(session, files, types) or []) == 2
        assert slices.slice_relations(session, files, {"k": "VARCHAR"}) is None
        session.close()


@pytest.mark.parametrize(
    ("hours", "shift"),
    [
        ([[("a", 0), ("b", 30)], [("a", 10), ("c", 40)]], False),  # time ranges overlap
        ([[("a", 0), ("b", None)], [("a", 0), ("b", None)]], True),  # a NULL may be anywhere
    ],
    ids=["overlapping", "nulls"],
)
def test_no_slices_where_a_key_could_span_files(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    hours: list[list[tuple[str, int | None]]],
    shift: bool,
) -> None:
    monkeypatch.setattr(slices, "SLICE_ROWS", 1)
    settings = land(tmp_path, "spread", hours, shift)
    with reading_catalog(settings) as catalog:
        session = Session(settings, catalog)
        session.prepare('"spread"')
        files = slices.table_files(session, catalog.table("spread"), None)
        assert files is not None and len(files.uris) == 2
        assert slices.slice_relations(session, files, {"t": "TIMESTAMP"}) is None
        session.close()
    expected = 0.5 if shift else 1.0
    assert metrics(settings, "spread")[0] == {"Multicolumn.k,t.Uniqueness": expected}
