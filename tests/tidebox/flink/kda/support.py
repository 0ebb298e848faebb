"""Helpers shared by the KDA translation tests."""

from __future__ import annotations

import re

_RETYPED = re.compile(r"SELECT CAST\(`\$c0`[^\n]*\nFROM \((.*?)\) AS `\$typed` \([^)]*\)", re.S)


def without_retyping(sql: str) -> str:
    """Flink SQL with the positional casts to the declared types taken off the queries a
    window rule wrote, so that a test of that rule reads its own SQL (the casts have theirs)."""
    return _RETYPED.sub(r"\1", sql)
