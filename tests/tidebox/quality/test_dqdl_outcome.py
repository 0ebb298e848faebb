"""The rules' aggregate FILTERs: a NULL guard dropped only where it wraps the whole test."""

from __future__ import annotations

import pytest

from tidebox.quality.dqdl.outcome import bare, filtered


@pytest.mark.parametrize(
    ("test", "expected"),
    [
        ("coalesce(a > 1, false)", "a > 1"),
        ("coalesce(a, false) AND coalesce(b, false)", "coalesce(a, false) AND coalesce(b, false)"),
        ("coalesce(x = ')', false)", "x = ')'"),
        ("coalesce(coalesce(a, false) OR b, false)", "coalesce(a, false) OR b"),
        ("(w) AND coalesce(b, false)", "(w) AND coalesce(b, false)"),
        ("coalesce(a, true)", "coalesce(a, true)"),
    ],
)
def test_bare_drops_only_an_outer_null_guard(test: str, expected: str) -> None:
    assert bare(test) == expected


def test_filtered_uses_the_bare_test() -> None:
    assert filtered("count(*)", "coalesce(a > 1, false)") == "count(*) FILTER (WHERE a > 1)"
    assert filtered("count(*)", None) == "count(*)"
