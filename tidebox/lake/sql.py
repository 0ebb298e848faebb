"""Writing DuckDB SQL by hand: quoted names and literals, and the first line of an error."""

from __future__ import annotations


def quote(name: str) -> str:
    """``name`` as a quoted identifier."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """``text`` as a string literal."""
    return "'" + str(text).replace("'", "''") + "'"


def first_line(exc: BaseException) -> str:
    """What an error says, short enough for one line."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return " ".join(lines[:2]) if lines else type(exc).__name__
