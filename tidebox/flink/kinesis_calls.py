"""Kinesis Analytics' form of RANDOM_CUT_FOREST, rewritten into the Flink process table function.

Kinesis Data Analytics SQL calls the forest on a cursor, with positional parameters::

    SELECT STREAM * FROM TABLE(RANDOM_CUT_FOREST(
        CURSOR(SELECT STREAM * FROM "SOURCE_SQL_STREAM_001"), 100, 256, 100000, 1))

Flink has no cursors. Each ``TABLE(RANDOM_CUT_FOREST(CURSOR(q), ...))`` becomes a temporary
view of ``q`` (``SELECT STREAM`` read as ``SELECT``, ``"quoted"`` identifiers as backquoted
ones) and a subquery over the function in its Flink form, which gives back the cursor's columns
in their order plus ANOMALY_SCORE (and ANOMALY_EXPLANATION). Rows are scored in event-time
order, so the cursor must carry the stream's time attribute; the time column comes back as that
attribute, so windows can follow the call.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from tidebox.core.errors import JobError
from tidebox.flink.ddl import quote

_CALL = re.compile(r"\bTABLE\s*\(\s*(RANDOM_CUT_FOREST(?:_WITH_EXPLANATION)?)\s*\(", re.IGNORECASE)
_CURSOR = re.compile(r"^\s*CURSOR\s*\((.*)\)\s*$", re.IGNORECASE | re.DOTALL)
_STREAM = re.compile(r"^(\s*SELECT)\s+STREAM\b", re.IGNORECASE)
_ANY_STREAM = re.compile(r"\bSELECT(\s+STREAM)\b", re.IGNORECASE)
# Kinesis Analytics' positional parameters, in order, and the function's argument names
POSITIONAL = {
    "RANDOM_CUT_FOREST": ("number_of_trees", "sub_sample_size", "time_decay", "shingle_size"),
    "RANDOM_CUT_FOREST_WITH_EXPLANATION": (
        "number_of_trees",
        "sub_sample_size",
        "time_decay",
        "shingle_size",
        "with_directionality",
    ),
}
KDA_NAMES = {
    "number_of_trees": "numberOfTrees",
    "sub_sample_size": "subSampleSize",
    "time_decay": "timeDecay",
    "shingle_size": "shingleSize",
    "with_directionality": "withDirectionality",
}
_LITERAL = re.compile(r"^(?:-?\d+|TRUE|FALSE)$", re.IGNORECASE)


@dataclass(frozen=True)
class CursorCall:
    """One Kinesis-style call found in a statement: where it is and what it says."""

    start: int  # the offset of TABLE
    end: int  # just after the call's closing parenthesis
    function: str
    query: str  # the cursor's query, in Flink SQL
    arguments: tuple[str, ...]  # the positional parameters as written


def has_cursor_call(statement: str) -> bool:
    return bool(_CALL.search(_blank_quotes(statement)))


ViewMaker = Callable[[str], tuple[str, list[tuple[str, str]]]]


def rewrite(statement: str, origin: str, define_view: ViewMaker) -> str:
    """The statement with every Kinesis-style call replaced by its Flink form.

    ``define_view(query)`` creates a temporary view of the cursor's query and returns its name
    and its columns as ``[(name, type), ...]``, in Flink's type strings (``TIMESTAMP(3)
    *ROWTIME*`` marks the time attribute).
    """
    out: list[str] = []
    position = 0
    for call in _calls(statement, origin):
        view, columns = define_view(call.query)
        out.append(statement[position : call.start])
        out.append(_flink_form(call, view, columns, origin))
        position = call.end
    out.append(statement[position:])
    return _without_stream("".join(out))


def _without_stream(statement: str) -> str:
    """Kinesis Analytics' ``SELECT STREAM`` read as Flink's ``SELECT`` (outside quotes)."""
    blank = _blank_quotes(statement)
    for match in reversed(list(_ANY_STREAM.finditer(blank))):
        statement = statement[: match.start(1)] + statement[match.end(1) :]
    return statement


def _calls(statement: str, origin: str) -> list[CursorCall]:
    blank = _blank_quotes(statement)
    calls = []
    for match in _CALL.finditer(blank):
        open_args = match.end() - 1  # the function's own parenthesis
        close_args = _closing(blank, open_args, origin)
        close_table = blank.find(")", close_args + 1)
        if close_table < 0 or blank[close_args + 1 : close_table].strip():
            raise JobError(origin, f"{match.group(1).upper()}: TABLE( ... ) is not closed")
        parts = _split(statement, blank, open_args + 1, close_args)
        function = match.group(1).upper()
        cursor = _CURSOR.match(parts[0]) if parts else None
        if cursor is None:
            raise JobError(
                origin,
                f"{function}: the first parameter must be CURSOR(SELECT STREAM ... FROM stream)",
            )
        names = POSITIONAL[function]
        if len(parts) - 1 > len(names):
            raise JobError(
                origin,
                f"{function} takes at most {len(names)} parameters after the cursor "
                f"({', '.join(KDA_NAMES[n] for n in names)}), got {len(parts) - 1}",
            )
        calls.append(
            CursorCall(
                match.start(),
                close_table + 1,
                function,
                _flink_query(cursor.group(1)),
                tuple(p.strip() for p in parts[1:]),
            )
        )
    return calls


def _flink_form(call: CursorCall, view: str, columns: list[tuple[str, str]], origin: str) -> str:
    times = [name for name, kind in columns if "*ROWTIME*" in kind]
    if not times:
        raise JobError(
            origin,
            f"{call.function}: the CURSOR's query has no event-time attribute (a time column "
            "with a WATERMARK); select the stream's time column too: rows are scored in "
            "event-time order",
        )
    time = times[0]
    arguments = [f"input => TABLE {quote(view)}", f"on_time => DESCRIPTOR({quote(time)})"]
    for name, value in zip(POSITIONAL[call.function], call.arguments, strict=False):
        if not _LITERAL.match(value):
            raise JobError(
                origin, f"{call.function}: {KDA_NAMES[name]} must be a literal, got {value!r}"
            )
        arguments.append(f"{name} => {value}")
    arguments.append(f"uid => '{view.strip('_')}'")  # names the call's state in snapshots
    selected = [
        f"`rowtime` AS {quote(name)}" if name == time else quote(name) for name, _ in columns
    ]
    selected.append("`ANOMALY_SCORE`")
    if call.function.endswith("_WITH_EXPLANATION"):
        selected.append("`ANOMALY_EXPLANATION`")
    return f"(SELECT {', '.join(selected)} FROM {call.function}({', '.join(arguments)}))"


def _flink_query(query: str) -> str:
    """A Kinesis Analytics query as Flink reads it: no STREAM keyword, backquoted names."""
    query = _STREAM.sub(r"\1", query.strip())
    return re.sub(r'"([^"]*)"', lambda m: quote(m.group(1)), query)


def _blank_quotes(text: str) -> str:
    """``text`` with the inside of every quoted string and identifier blanked out, so that
    parentheses and commas in them are not taken for the call's."""
    out, quote_char = [], ""
    for char in text:
        if quote_char:
            out.append(char if char == quote_char else " ")
            if char == quote_char:
                quote_char = ""
        else:
            if char in "'`":
                quote_char = char
            out.append(char)
    return "".join(out)


def _closing(blank: str, open_at: int, origin: str) -> int:
    depth = 0
    for index in range(open_at, len(blank)):
        if blank[index] == "(":
            depth += 1
        elif blank[index] == ")":
            depth -= 1
            if depth == 0:
                return index
    raise JobError(origin, "RANDOM_CUT_FOREST( ... ) is not closed")


def _split(text: str, blank: str, start: int, end: int) -> list[str]:
    """The comma-separated parts of ``text[start:end]`` at parenthesis depth 0."""
    parts, depth, begin = [], 0, start
    for index in range(start, end):
        char = blank[index]
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[begin:index])
            begin = index + 1
    parts.append(text[begin:end])
    return [p for p in parts if p.strip()]
