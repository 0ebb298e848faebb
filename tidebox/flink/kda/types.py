"""KDA SQL's data types as Flink's.

KDA casts the values a pump inserts to the target stream's declared column types (its SQL
validator rejects a pump whose types do not match), so tidebox wraps each selected value in a
``CAST`` to the Flink type of its column. The types, from KDA's SQL reference (Data Types):

- ``VARCHAR(n)``, ``CHAR(n)`` (``CHARACTER``), ``BINARY(n)``, ``VARBINARY(n)``: the same
  (Flink's CAST truncates a longer string to ``n`` and pads a ``CHAR``); without a length,
  ``VARCHAR`` is Flink's ``STRING`` and ``CHAR``/``BINARY`` take one character, as in SQL;
- ``INTEGER``/``INT``, ``BIGINT``, ``SMALLINT``, ``TINYINT``, ``BOOLEAN``, ``DATE``: the same;
- ``DOUBLE`` (``DOUBLE PRECISION``): ``DOUBLE``; ``REAL`` (32 bits): Flink's ``FLOAT`` (Flink's
  planner has no ``REAL``);
- ``DECIMAL``/``DEC``/``NUMERIC`` ``(p, s)``: ``DECIMAL(p, s)``; KDA gives "up to 19 significant
  digits" and no default, so a bare ``DECIMAL`` is ``DECIMAL(19, 0)`` (tidebox's choice);
- ``TIMESTAMP`` and ``TIME``: millisecond precision in KDA, so ``TIMESTAMP(3)`` and ``TIME(3)``.

``INTERVAL`` "cannot be used as a datatype for a column", and any other type is unknown: both
are refused at the column.
"""

from __future__ import annotations

import re

_SIMPLE = {
    "INTEGER": "INT",
    "INT": "INT",
    "BIGINT": "BIGINT",
    "SMALLINT": "SMALLINT",
    "TINYINT": "TINYINT",
    "BOOLEAN": "BOOLEAN",
    "DATE": "DATE",
    "DOUBLE": "DOUBLE",
    "REAL": "FLOAT",
    "TIMESTAMP": "TIMESTAMP(3)",
    "TIME": "TIME(3)",
}
_SIZED = {"VARCHAR": "VARCHAR", "CHAR": "CHAR", "CHARACTER": "CHAR",
          "BINARY": "BINARY", "VARBINARY": "VARBINARY"}  # fmt: skip
_DECIMALS = ("DECIMAL", "DEC", "NUMERIC")
_TYPE = re.compile(r"^([A-Z_]+)(?:\((\d+)(?:,(\d+))?\))?$")


class UnknownType(ValueError):
    """A type KDA does not have, or one no column can take; its message says which."""


def flink_type(kda_type: str) -> str:
    """The Flink type of a KDA type written like ``VARCHAR(4)``, ``DECIMAL(19,5)`` or ``DOUBLE``
    (upper case, no spaces; ``DOUBLE PRECISION`` read as ``DOUBLE``)."""
    text = kda_type.replace(" ", "").upper()
    if text == "DOUBLEPRECISION":
        text = "DOUBLE"
    found = _TYPE.match(text)
    if found is None:
        raise UnknownType(f"{kda_type} is not a KDA SQL type")
    base, size, scale = found.group(1), found.group(2), found.group(3)
    if base in _DECIMALS:
        precision = int(size) if size else 19
        return f"DECIMAL({precision}, {int(scale) if scale else 0})"
    if scale is not None:
        raise UnknownType(f"{kda_type}: {base} takes one size")
    if base in _SIZED:
        if size is not None:
            return f"{_SIZED[base]}({int(size)})"
        return "STRING" if base == "VARCHAR" else f"{_SIZED[base]}(1)"
    if base in _SIMPLE and size is None:
        return _SIMPLE[base]
    if base in _SIMPLE and base in ("TIMESTAMP", "TIME"):
        return _SIMPLE[base]  # KDA's precision is always the millisecond
    if base == "INTERVAL":
        raise UnknownType("INTERVAL cannot be a column's type in KDA SQL")
    if base in _SIMPLE:
        raise UnknownType(f"{kda_type}: {base} takes no size")
    raise UnknownType(f"{kda_type} is not a KDA SQL type")
