"""Saved query results from Python: a file as asked, or Athena's layout in a folder."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tidebox.lake.query import QueryResult
from tidebox.lake.results import save_result


def test_a_folder_gets_the_query_id_and_its_metadata(tmp_path: Path) -> None:
    result = QueryResult(pa.table({"n": [1, 2]}), seconds=0.5, query_id="q1")
    path = save_result(result, tmp_path, "parquet")
    assert path == tmp_path / "q1.parquet"
    assert pq.read_table(path).column("n").to_pylist() == [1, 2]
    meta = json.loads((tmp_path / "q1.parquet.metadata").read_text())
    assert (meta["queryId"], meta["rows"], meta["columns"][0]["name"]) == ("q1", 2, "n")


def test_a_file_is_written_as_named_without_metadata(tmp_path: Path) -> None:
    result = QueryResult(pa.table({"n": [1]}), seconds=0.1, query_id="q2")
    path = save_result(result, tmp_path / "out" / "rows.json", "json")
    assert path.read_text() == '{"n": 1}\n'
    assert list(path.parent.iterdir()) == [path]
