"""Dynamic partitioning: partition keys pulled out of each record with jq, as Firehose does.

Firehose evaluates one jq (1.6) expression per key over the record's JSON. tidebox uses the jq
package from PyPI. jq is exact but slow (several microseconds a record), so the commonest
expressions, a plain field (``.device_id``) or a slice of one (``.event_time[0:10]``), are
evaluated on Arrow columns instead whenever every record holds text or null there; the tests
check that both ways give the same keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from tidebox.core.errors import ConfigError
from tidebox.delivery.convert import read_json_lines

_SIMPLE = re.compile(r"^\s*\.([A-Za-z_][A-Za-z0-9_]*)\s*(?:\[\s*(-?\d*)\s*:\s*(-?\d*)\s*\])?\s*$")


@dataclass(frozen=True)
class KeyResult:
    """Per key, its value for every record; ``problems`` holds, for the records whose keys
    could not be extracted, why."""

    columns: dict[str, list[Any]]
    problems: dict[int, str]


class KeyExtractor:
    """Evaluates the partition keys of a delivery stream over batches of raw JSON records."""

    def __init__(self, keys: dict[str, str]) -> None:
        import jq

        self.keys = dict(keys)
        self._programs = {}
        for name, expression in self.keys.items():
            try:
                self._programs[name] = jq.compile(expression)
            except ValueError as exc:
                raise ConfigError(
                    f"partition key '{name}': invalid jq expression '{expression}': "
                    f"{str(exc).splitlines()[0]}"
                ) from exc
        self._simple = {n: m for n, e in self.keys.items() if (m := _SIMPLE.match(e))}

    def extract(self, values: list[bytes]) -> KeyResult:
        columns: dict[str, list[Any]] = {}
        problems: dict[int, str] = {}
        texts = self._text_columns(values)
        for name in self.keys:
            fast = self._fast(name, texts)
            columns[name] = fast if fast is not None else self._jq(name, values, problems)
        return KeyResult(columns, problems)

    def _text_columns(self, values: list[bytes]) -> dict[str, pa.ChunkedArray]:
        """The fields the shortcut keys read, as text columns, in one pass of Arrow's reader
        (a field that is not text or null in every record is left out: jq decides it)."""
        fields = sorted({m.group(1) for m in self._simple.values()})
        found: dict[str, pa.ChunkedArray] = {}
        if not fields:
            return found
        for group in [fields] if len(fields) == 1 else [fields, *[[f] for f in fields]]:
            if all(f in found for f in group):
                continue
            options = pj.ParseOptions(
                explicit_schema=pa.schema([(f, pa.string()) for f in group]),
                unexpected_field_behavior="ignore",
            )
            table = read_json_lines(values, options)
            if table is None:
                continue  # a number, an object... somewhere, or records spanning lines
            found.update({f: table.column(f) for f in group})
            if group is fields:
                break
        return found

    def _jq(self, name: str, values: list[bytes], problems: dict[int, str]) -> list[Any]:
        program = self._programs[name]
        out: list[Any] = []
        for i, value in enumerate(values):
            if i in problems:
                out.append(None)
                continue
            try:
                results = program.input_text(value.decode("utf-8")).all()
            except (ValueError, UnicodeDecodeError) as exc:
                problems[i] = f"partition key '{name}': jq failed: {str(exc).splitlines()[0]}"
                out.append(None)
                continue
            if len(results) != 1:
                problems[i] = f"partition key '{name}': jq gave {len(results)} values, not one"
                out.append(None)
                continue
            if not isinstance(results[0], str | int | float | bool | None):
                problems[i] = f"partition key '{name}' is not a scalar: {results[0]!r:.80}"
                out.append(None)
                continue
            out.append(results[0])
        return out

    def _fast(self, name: str, texts: dict[str, pa.ChunkedArray]) -> list[Any] | None:
        """The key on Arrow columns, for ``.field`` and ``.field[a:b]`` over text; else None."""
        match = self._simple.get(name)
        if match is None or match.group(1) not in texts:
            return None
        column = texts[match.group(1)]
        start, stop = match.group(2), match.group(3)
        if start or stop:
            begin = int(start) if start else 0
            end = int(stop) if stop else None
            if begin < 0 or (end is not None and end < 0):
                return None  # negative slices count from the end: leave them to jq
            column = pc.utf8_slice_codeunits(column, begin, end if end is not None else 2**31)
        return column.to_pylist()
