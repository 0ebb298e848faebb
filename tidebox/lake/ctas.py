"""Athena's CTAS and UNLOAD, written by DuckDB and registered in the catalog as Athena would.

    CREATE TABLE [IF NOT EXISTS] name
      WITH (format = 'PARQUET', partitioned_by = ARRAY['dt'], external_location = '...',
            write_compression = 'SNAPPY')
      AS SELECT ...
    UNLOAD (SELECT ...) TO '...' WITH (format = 'PARQUET', partitioned_by = ARRAY['dt'])

Formats: PARQUET (the default), JSON, TEXTFILE (delimited text, ``field_delimiter``, no
header). Locations are ``s3://`` URIs or folders (relative ones are under the bucket); the
target must be empty, the partition columns must come last in the SELECT, and at most 100
partitions may be written, with Athena's error names. Files are written to a private folder
first and moved into place only when the whole statement has succeeded.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from tidebox.core.errors import QueryError
from tidebox.lake.catalog_store import CatalogTable
from tidebox.lake.glue_types import arrow_glue_type

if TYPE_CHECKING:
    from tidebox.lake.session import Session

MAX_PARTITIONS = 100
_FORMATS = {"PARQUET": "parquet", "JSON": "json", "TEXTFILE": "csv"}
_CODECS = {"SNAPPY": "snappy", "GZIP": "gzip", "ZSTD": "zstd", "NONE": "uncompressed"}
_CTAS = re.compile(
    r"^CREATE\s+TABLE\s+(?P<exists>IF\s+NOT\s+EXISTS\s+)?(?P<name>\"[^\"]+\"|[\w.$-]+)\s*"
    r"(?:WITH\s*\((?P<props>.*?)\)\s*)?AS\s+(?P<query>.+)$",
    re.IGNORECASE | re.DOTALL,
)
_UNLOAD = re.compile(
    r"^UNLOAD\s*\((?P<query>.+)\)\s*TO\s*'(?P<location>(?:[^']|'')+)'\s*"
    r"(?:WITH\s*\((?P<props>.*)\))?$",
    re.IGNORECASE | re.DOTALL,
)
_PROPERTY = re.compile(
    r"\s*(?P<key>\w+)\s*=\s*(?P<value>ARRAY\s*\[[^\]]*\]|'(?:[^']|'')*'|[\w.]+)\s*(?:,|$)",
    re.IGNORECASE,
)
_KNOWN = {"format", "partitioned_by", "external_location", "write_compression", "compression",
          "field_delimiter"}  # fmt: skip


@dataclass(frozen=True)
class Target:
    """Where and how a CTAS or UNLOAD writes."""

    query: str
    location: str | None
    format: str = "parquet"
    compression: str = "snappy"
    partitioned_by: tuple[str, ...] = ()
    delimiter: str = ","
    name: str = ""
    if_not_exists: bool = False
    extra: dict[str, str] = field(default_factory=dict)


def parse_ctas(sql: str) -> Target | None:
    match = _CTAS.match(sql)
    if match is None or not re.match(
        r"^\(?\s*(SELECT|WITH|VALUES|FROM)\b", match["query"].strip(), re.I
    ):
        return None
    props = _properties(match["props"] or "")
    return _target(match["query"], props, match["name"].strip('"'), bool(match["exists"]))


def parse_unload(sql: str) -> Target | None:
    match = _UNLOAD.match(sql)
    if match is None:
        return None
    props = _properties(match["props"] or "")
    if "external_location" in props:
        raise QueryError("UNLOAD takes its location from TO '...', not external_location")
    props["external_location"] = "'" + match["location"] + "'"  # still quoted, as in WITH
    return _target(match["query"], props, "", False)


def _properties(text: str) -> dict[str, str]:
    props: dict[str, str] = {}
    position = 0
    text = text.strip()
    while position < len(text):
        match = _PROPERTY.match(text, position)
        if match is None:
            raise QueryError(f"syntax error in WITH (...): cannot read '{text[position:][:40]}'")
        key = match["key"].lower()
        if key not in _KNOWN:
            raise QueryError(
                f"table property '{key}' is not supported (supported: {sorted(_KNOWN)})"
            )
        props[key] = match["value"]
        position = match.end()
    return props


def _string(value: str) -> str:
    if not (value.startswith("'") and value.endswith("'")):
        raise QueryError(f"expected a quoted string, got {value}")
    return value[1:-1].replace("''", "'")


def _target(query: str, props: dict[str, str], name: str, if_not_exists: bool) -> Target:
    fmt = _string(props.get("format", "'PARQUET'")).upper()
    if fmt not in _FORMATS:
        raise QueryError(f"format '{fmt}' is not supported (PARQUET, JSON or TEXTFILE)")
    codec = _string(props.get("write_compression", props.get("compression", "'SNAPPY'"))).upper()
    if codec not in _CODECS:
        raise QueryError(f"compression '{codec}' is not supported ({', '.join(_CODECS)})")
    partitioned: tuple[str, ...] = ()
    if "partitioned_by" in props:
        array = re.match(r"ARRAY\s*\[(.*)\]$", props["partitioned_by"], re.I | re.S)
        if array is None:
            raise QueryError("partitioned_by must be ARRAY['column', ...]")
        partitioned = tuple(_string(v.strip()) for v in array.group(1).split(",") if v.strip())
    location = _string(props["external_location"]) if "external_location" in props else None
    delimiter = _string(props.get("field_delimiter", "','"))
    return Target(
        query=query.strip(),
        location=location,
        format=_FORMATS[fmt],
        compression=_CODECS[codec],
        partitioned_by=partitioned,
        delimiter=delimiter,
        name=name,
        if_not_exists=if_not_exists,
    )


def create_table_as(session: Session, target: Target, query_id: str) -> tuple[pa.Table, str]:
    """Run a CTAS: write the query's rows under the location, then register the table and
    its partitions."""
    existing = session.catalog.find(target.name)
    if existing is not None:
        if target.if_not_exists:
            return _rows(0), f"table {existing.name} already exists"
        raise QueryError(f"Table '{target.name}' already exists (AlreadyExistsException)")
    location = _location(session, target.location or f"tables/{target.name}/")
    schema, written, partitions = _write(session, target, location, query_id)
    keys = {n for n in target.partitioned_by}
    table = CatalogTable(
        name=target.name,
        location=location,
        format=target.format,
        columns=tuple((f.name, arrow_glue_type(f.type)) for f in schema if f.name not in keys),
        partition_keys=tuple((f.name, arrow_glue_type(f.type)) for f in schema if f.name in keys),
        source="ctas",
        parameters={"header": False, "delimiter": target.delimiter}
        if target.format == "csv"
        else {},
    )
    session.catalog.put(table)
    session.catalog.add_partitions(table.name, partitions)
    return _rows(written), f"created table {target.name} at {location}: {written:,} rows"


def unload(session: Session, target: Target, query_id: str) -> tuple[pa.Table, str]:
    """Run an UNLOAD: write the query's rows under the location; register nothing."""
    location = _location(session, target.location or "")
    _, written, _ = _write(session, target, location, query_id)
    return _rows(written), f"unloaded {written:,} rows to {location}"


def _rows(count: int) -> pa.Table:
    return pa.table({"rows": pa.array([count], type=pa.int64())})


def _location(session: Session, location: str) -> str:
    if location.startswith("s3://"):
        return location.rstrip("/") + "/"
    path = Path(location)
    if not path.is_absolute():
        path = session.settings.bucket_path / path
    return str(path.resolve()) + "/"


def _write(
    session: Session, target: Target, location: str, query_id: str
) -> tuple[pa.Schema, int, list[str]]:
    """Write the rows to a private folder, check Athena's rules, then move them into place.

    Returns the query's schema, the rows written and the partitions (``k=v/...``) made.
    """
    from tidebox.core.stores import open_store
    from tidebox.lake.sql import quote

    store = open_store(location, session.settings.s3_endpoint)
    if store.list():
        raise QueryError(
            f"HIVE_PATH_ALREADY_EXISTS: Target directory for table '{target.name or 'UNLOAD'}' "
            f"already exists: {location}. Clean the data at that location first"
        )
    session.prepare(target.query)
    schema = session.execute(f"SELECT * FROM ({target.query}) AS q LIMIT 0").schema
    names = schema.names
    if target.partitioned_by:
        missing = [c for c in target.partitioned_by if c not in names]
        if missing:
            raise QueryError(f"partitioned_by column(s) {missing} are not in the query's columns")
        if tuple(names[-len(target.partitioned_by) :]) != target.partitioned_by:
            raise QueryError(
                "HIVE_COLUMN_ORDER_MISMATCH: Partition keys must be the last columns in the table "
                f"and in the same order as the table properties: {list(target.partitioned_by)}"
            )
    scratch = session.settings.state_dir / "tmp" / query_id
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        options = [f"FORMAT {target.format}"]  # parquet, json or csv: DuckDB's names too
        if target.format == "parquet" or target.compression != "snappy":
            options.append(f"COMPRESSION {target.compression}")
        if target.format == "csv":
            options += ["HEADER false", f"DELIMITER '{target.delimiter}'"]
        if target.partitioned_by:
            options.append(f"PARTITION_BY ({', '.join(quote(c) for c in target.partitioned_by)})")
            options.append(f"FILENAME_PATTERN '{query_id}_{{i}}'")
            destination = str(scratch)
        else:
            destination = str(scratch / f"{query_id}.{target.format}")
        copied = session.execute(
            f"COPY (SELECT * FROM ({target.query}) AS q) TO '{destination}' ({', '.join(options)})"
        )
        written = int(copied.column(0)[0].as_py()) if copied.num_rows else 0
        files = sorted(p for p in scratch.rglob("*") if p.is_file())
        partitions = sorted({p.parent.relative_to(scratch).as_posix() for p in files} - {"."})
        if len(partitions) > MAX_PARTITIONS:
            raise QueryError(
                f"HIVE_TOO_MANY_OPEN_PARTITIONS: Exceeded limit of {MAX_PARTITIONS} open writers "
                f"for partitions/buckets ({len(partitions)} partitions; nothing was written)"
            )
        for path in files:
            key = path.relative_to(scratch).as_posix()
            if location.startswith("s3://"):
                store.put(key, path.read_bytes())
            else:
                final = Path(location) / key
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(path, final)
        return schema, written, partitions
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
