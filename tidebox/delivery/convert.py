"""Record format conversion: JSON records in, an Arrow table typed by the schema out.

Like Firehose's OpenX JSON SerDe, keys match columns case-insensitively by default, keys that
are not columns are ignored and missing keys are nulls. The common case (well-formed records
whose keys are spelled as the columns) is read by Arrow's JSON reader in one call. A batch it
rejects is read again leniently, record by record, and a batch that still fails is halved until
the records that cannot be converted stand alone: those go to the error output with the reason.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from typing import Any

import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

MALFORMED = "DataFormatConversion.MalformedData"
MISMATCH = "DataFormatConversion.SchemaMismatch"


def read_json_lines(
    values: list[bytes], parse_options: pj.ParseOptions | None = None
) -> pa.Table | None:
    """Arrow's JSON reader over the records joined as newline-delimited JSON, or None when it
    cannot take them as they are: a record spans lines (row i would not be record i), the
    reader rejects the text, or it finds another number of rows (an empty or a doubled
    record). Its threads only help with a second CPU to run on (measured: 20% slower on one)."""
    joined = b"\n".join(values)
    if joined.count(b"\n") != len(values) - 1 or b"\r" in joined:
        return None
    read = pj.ReadOptions(use_threads=len(os.sched_getaffinity(0)) > 1)
    try:
        table = pj.read_json(
            io.BytesIO(joined), read_options=read, parse_options=parse_options or pj.ParseOptions()
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return table if table.num_rows == len(values) else None


def arrow_type(sql_type: str) -> pa.DataType:
    """The Arrow (and so Parquet) type of a column declared with a Flink SQL type name."""
    base = sql_type.upper().split("(")[0].strip()
    if base.startswith("TIMESTAMP"):
        return pa.timestamp("ms", tz="UTC")
    return {
        "STRING": pa.string(),
        "VARCHAR": pa.string(),
        "CHAR": pa.string(),
        "DOUBLE": pa.float64(),
        "FLOAT": pa.float32(),
        "DECIMAL": pa.float64(),
        "BIGINT": pa.int64(),
        "INT": pa.int32(),
        "INTEGER": pa.int32(),
        "SMALLINT": pa.int16(),
        "TINYINT": pa.int8(),
        "BOOLEAN": pa.bool_(),
        "DATE": pa.date32(),
    }.get(base, pa.string())


def arrow_schema(columns: dict[str, str]) -> pa.Schema:
    return pa.schema([(name, arrow_type(sql)) for name, sql in columns.items()])


@dataclass(frozen=True)
class Conversion:
    """A converted batch: the table of the records that fit (``rows`` are their positions in the
    input, in order) and, for each record that did not, its position, error code and message."""

    table: pa.Table
    rows: list[int]
    failed: list[tuple[int, str, str]]


class Converter:
    """Converts batches of raw JSON records to Arrow tables of one schema."""

    def __init__(self, schema: pa.Schema, case_insensitive: bool = True) -> None:
        self.schema = schema
        self.case_insensitive = case_insensitive
        self._by_lower = {f.name.lower(): f.name for f in schema}
        self._options = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="infer")

    def convert(self, values: list[bytes]) -> Conversion:
        tables: list[pa.Table] = []
        rows: list[int] = []
        failed: list[tuple[int, str, str]] = []
        self._convert(values, 0, tables, rows, failed)
        table = pa.concat_tables(tables) if tables else self.schema.empty_table()
        return Conversion(table, rows, sorted(failed))

    def _convert(
        self,
        values: list[bytes],
        start: int,
        tables: list[pa.Table],
        rows: list[int],
        failed: list[tuple[int, str, str]],
    ) -> None:
        if not values:
            return
        table = self._fast(values)
        if table is None:
            table = self._lenient(values)
        if table is not None:
            tables.append(table)
            rows.extend(range(start, start + len(values)))
            return
        if len(values) == 1:
            failed.append((start, *self._reason(values[0])))
            return
        half = len(values) // 2
        self._convert(values[:half], start, tables, rows, failed)
        self._convert(values[half:], start + half, tables, rows, failed)

    def _fast(self, values: list[bytes]) -> pa.Table | None:
        """Arrow's JSON reader over the whole batch; None when it cannot take it as is."""
        table = read_json_lines(values, self._options)
        if table is None:
            return None
        extra = [n for n in table.column_names if n not in self.schema.names]
        if extra and self.case_insensitive:
            table = self._fold_case(table, extra)
            if table is None:
                return None
        return table.select(self.schema.names).cast(self.schema)

    def _fold_case(self, table: pa.Table, extra: list[str]) -> pa.Table | None:
        """Merge a key spelled in another case (``Temperature``) into its column."""
        for name in extra:
            target = self._by_lower.get(name.lower())
            if target is None:
                continue
            index = table.schema.get_field_index(target)
            try:
                other = table.column(name).cast(self.schema.field(target).type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                return None
            merged = pc.coalesce(table.column(target), other)
            table = table.set_column(index, target, merged)
        return table

    def _lenient(self, values: list[bytes]) -> pa.Table | None:
        """Record by record, as the OpenX SerDe converts: numbers and booleans become text for
        string columns, numeric text becomes numbers, epoch milliseconds become times."""
        try:
            records = [self._record(v) for v in values]
            columns = [
                _column([r.get(field.name) for r in records], field.type) for field in self.schema
            ]
        except (ValueError, TypeError, OverflowError, pa.ArrowException):
            return None
        return pa.Table.from_arrays(columns, schema=self.schema)

    def _record(self, value: bytes) -> dict[str, Any]:
        record = orjson.loads(value)
        if not isinstance(record, dict):
            raise ValueError("not a JSON object")
        if not self.case_insensitive:
            return record
        folded: dict[str, Any] = {}
        for key, item in record.items():
            target = self._by_lower.get(str(key).lower())
            if target is not None and (target not in folded or key == target):
                folded[target] = item
        return folded

    def _reason(self, value: bytes) -> tuple[str, str]:
        try:
            record = orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            return MALFORMED, f"not valid JSON: {exc}"
        if not isinstance(record, dict):
            return MALFORMED, f"not a JSON object but {type(record).__name__}"
        folded = self._record(value)
        for field in self.schema:
            try:
                _column([folded.get(field.name)], field.type)
            except (ValueError, TypeError, OverflowError, pa.ArrowException) as exc:
                shown = orjson.dumps(folded.get(field.name)).decode()[:80]
                return MISMATCH, f"column '{field.name}' ({field.type}) cannot hold {shown}: {exc}"
        return MISMATCH, "the record does not fit the schema"


def _column(values: list[Any], kind: pa.DataType) -> pa.Array:
    if pa.types.is_timestamp(kind):
        return pa.array(_timestamps(values), type=kind)
    if pa.types.is_string(kind):
        return pa.array([_text(v) for v in values], type=kind)
    if pa.types.is_floating(kind) or pa.types.is_integer(kind):
        return pa.array([_number(v, pa.types.is_integer(kind)) for v in values], type=kind)
    if pa.types.is_boolean(kind):
        return pa.array([_boolean(v) for v in values], type=kind)
    return pa.array(values, type=kind)


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return orjson.dumps(value).decode()
    return orjson.dumps(value).decode()  # nested values land as their JSON text


def _number(value: Any, integer: bool) -> int | float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError(f"{value!r} is a boolean, not a number")
    if isinstance(value, str):
        value = float(value.strip())
    if not isinstance(value, int | float):
        raise TypeError(f"{value!r:.40} is not a number")
    if integer:
        if float(value) != int(value):
            raise ValueError(f"{value!r} is not a whole number")
        return int(value)
    return value


def _boolean(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise TypeError(f"{value!r:.40} is not a boolean")


def _timestamps(values: list[Any]) -> pd.Series:
    """Times from ISO-8601 text (naive text is UTC) or epoch milliseconds, to the millisecond."""
    return pd.Series([None if v is None else to_timestamp(v) for v in values], dtype=object)


def to_timestamp(value: Any) -> pd.Timestamp:
    """A UTC timestamp truncated to milliseconds; ValueError for anything that is not a time."""
    if isinstance(value, bool):
        raise ValueError(f"not a time: {value!r}")
    if isinstance(value, int | float):
        stamp = pd.Timestamp(value, unit="ms", tz="UTC")
    elif isinstance(value, str):
        stamp = pd.Timestamp(value)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    else:
        raise ValueError(f"not a time: {value!r:.40}")
    if stamp is pd.NaT:
        raise ValueError(f"not a time: {value!r:.40}")
    return stamp.floor("ms")


class InferringConverter:
    """For a delivery stream without a schema (tidebox's addition; Firehose needs one): each
    object's columns and types are inferred from its records. Records that are not JSON
    objects, or whose fields clash in type with the rest of the batch, go to the errors."""

    def convert(self, values: list[bytes]) -> Conversion:
        table = read_json_lines(values)
        if table is not None:
            return Conversion(table, list(range(len(values))), [])
        records: list[dict[str, Any]] = []
        rows: list[int] = []
        failed: list[tuple[int, str, str]] = []
        for i, value in enumerate(values):
            try:
                record = orjson.loads(value)
            except orjson.JSONDecodeError as exc:
                failed.append((i, MALFORMED, f"not valid JSON: {exc}"))
                continue
            if not isinstance(record, dict):
                failed.append((i, MALFORMED, f"not a JSON object but {type(record).__name__}"))
                continue
            records.append(record)
            rows.append(i)
        table, kept = self._table(records, rows, failed)
        return Conversion(table, kept, sorted(failed))

    def _table(
        self, records: list[dict[str, Any]], rows: list[int], failed: list[tuple[int, str, str]]
    ) -> tuple[pa.Table, list[int]]:
        try:
            return pa.Table.from_pylist(records), rows
        except (pa.ArrowException, ValueError, TypeError, OverflowError):
            pass
        tables: list[pa.Table] = []
        kept: list[int] = []
        for record, row in zip(records, rows, strict=True):  # one by one: keep what agrees
            try:
                single = pa.Table.from_pylist([record])
                merged = pa.concat_tables([*tables, single], promote_options="permissive")
            except (pa.ArrowException, ValueError, TypeError, OverflowError) as exc:
                failed.append(
                    (row, MISMATCH, f"a field's type clashes with earlier records: {exc}")
                )
                continue
            tables = [merged]
            kept.append(row)
        return (tables[0] if tables else pa.table({})), kept
