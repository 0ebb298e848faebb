"""Saved query results, laid out as Athena's result location: the rows in a file named after
the query id, with a ``.metadata`` file of its columns and statistics beside it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tidebox.lake.query import QueryResult


def save_result(result: QueryResult, output: Path, fmt: str) -> Path:
    """Write a query's rows where asked, as ``fmt`` (csv, json: JSON Lines, parquet; the
    console's ``table`` saves as CSV): to the file ``output``, or, when ``output`` is a folder
    (existing, or ending in ``/``), as ``<query-id>.<ext>`` plus a ``.metadata`` file, as
    Athena's result location holds. Returns the path of the rows."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    kind = "csv" if fmt == "table" else fmt
    folder = output.is_dir() or str(output).endswith("/")
    path = output / f"{result.query_id}.{kind}" if folder else output
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "parquet":
        pq.write_table(result.table, path)
    elif kind == "json":
        with open(path, "w") as handle:
            for row in result.table.to_pylist():
                handle.write(json.dumps(row, default=str) + "\n")
    else:
        pacsv.write_csv(result.table, path)
    if folder:
        meta = {
            "queryId": result.query_id,
            "columns": [{"name": f.name, "type": str(f.type)} for f in result.table.schema],
            "rows": result.rows,
            "dataScannedInBytes": result.bytes_scanned,
            "runTimeSeconds": result.seconds,
        }
        path.with_name(path.name + ".metadata").write_text(json.dumps(meta, indent=2))
    return path
