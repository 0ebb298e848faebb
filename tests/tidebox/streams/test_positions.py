"""Positions as `tidebox stream read --from` takes them."""

from __future__ import annotations

import pytest

from tidebox.core.errors import TideboxError
from tidebox.streams.reader import Position, parse_position


def test_positions_with_and_without_values() -> None:
    assert parse_position("trim-horizon") == Position("trim-horizon")
    assert parse_position("latest") == Position("latest")
    assert parse_position("at-sequence", "42") == Position("at-sequence", sequence=42)
    assert parse_position("after-sequence=7") == Position("after-sequence", sequence=7)
    assert parse_position("at-timestamp", "2026-11-30T10:00:00Z").timestamp_ms == 1796032800000
    assert parse_position("at-timestamp", "2026-11-30T10:00:00").timestamp_ms == 1796032800000
    assert parse_position("at-timestamp", "1796032800.5").timestamp_ms == 1796032800500


@pytest.mark.parametrize(
    ("kind", "value", "problem"),
    [
        ("sideways", None, "unknown position"),
        ("at-sequence", None, "needs a sequence number"),
        ("at-sequence", "-3", "is not a sequence number"),
        ("at-timestamp", "noon", "is not a time"),
        ("latest", "5", "takes no value"),
    ],
)
def test_bad_positions(kind: str, value: str | None, problem: str) -> None:
    with pytest.raises(TideboxError, match=problem):
        parse_position(kind, value)
