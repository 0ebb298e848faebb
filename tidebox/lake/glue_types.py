"""Column types: Glue's (Hive's) names, and how Flink SQL, DuckDB and Arrow types map to them.

The catalog stores Glue types (``string``, ``bigint``, ``double``, ``timestamp``...); a query
reads them as DuckDB types, and a query's result or a delivery's Arrow schema is registered
with the Glue types of its Arrow types.
"""

from __future__ import annotations

from typing import Any

_GLUE_TYPES = {
    "STRING": "string",
    "VARCHAR": "string",
    "CHAR": "string",
    "TEXT": "string",
    "DOUBLE": "double",
    "FLOAT": "float",
    "REAL": "float",
    "BIGINT": "bigint",
    "INT": "int",
    "INTEGER": "int",
    "SMALLINT": "smallint",
    "TINYINT": "tinyint",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "HUGEINT": "decimal(38,0)",
    "UBIGINT": "decimal(20,0)",
    "UINTEGER": "bigint",
    "USMALLINT": "int",
    "UTINYINT": "smallint",
    "BLOB": "binary",
}


def glue_type(sql_type: str) -> str:
    """The Glue type of a Flink SQL, DuckDB or Glue type name."""
    text = sql_type.strip()
    upper = text.upper()
    if upper.startswith("TIMESTAMP"):
        return "timestamp"
    if upper.startswith("DECIMAL"):
        return text.lower().replace(" ", "")
    if upper.endswith("[]"):
        return f"array<{glue_type(text[:-2])}>"
    base = upper.split("(")[0].strip()
    return _GLUE_TYPES.get(base, text.lower())


def arrow_glue_type(kind: Any) -> str:
    """The Glue type of an Arrow type (a query's result column)."""
    import pyarrow as pa

    if pa.types.is_timestamp(kind):
        return "timestamp"
    if pa.types.is_decimal(kind):
        return f"decimal({kind.precision},{kind.scale})"
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return f"array<{arrow_glue_type(kind.value_type)}>"
    named = {
        "int8": "tinyint",
        "int16": "smallint",
        "int32": "int",
        "int64": "bigint",
        "uint8": "smallint",
        "uint16": "int",
        "uint32": "bigint",
        "uint64": "decimal(20,0)",
        "float": "float",
        "double": "double",
        "bool": "boolean",
        "date32[day]": "date",
        "string": "string",
        "large_string": "string",
        "binary": "binary",
    }
    return named.get(str(kind), "string")


_DUCKDB_TYPES = {
    "string": "VARCHAR",
    "double": "DOUBLE",
    "float": "FLOAT",
    "bigint": "BIGINT",
    "int": "INTEGER",
    "smallint": "SMALLINT",
    "tinyint": "TINYINT",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP WITH TIME ZONE",
    "binary": "BLOB",
}


def duckdb_type(glue: str) -> str:
    """The DuckDB type a Glue type is read as."""
    if glue.startswith("decimal"):
        return glue.upper()
    if glue.startswith("array<") and glue.endswith(">"):
        return f"{duckdb_type(glue[6:-1])}[]"
    return _DUCKDB_TYPES.get(glue, "VARCHAR")
