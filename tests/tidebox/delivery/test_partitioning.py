"""Dynamic partitioning keys: jq semantics, and the Arrow shortcut agreeing with jq."""

from __future__ import annotations

import json
import random

import pytest

from tidebox.core.errors import ConfigError
from tidebox.delivery.partitioning import KeyExtractor


def records(values: list[object]) -> list[bytes]:
    return [json.dumps(v).encode() for v in values]


def test_shortcut_agrees_with_jq_on_text_and_nulls() -> None:
    rng = random.Random(3)
    alphabet = "abcé€😀 /-:T0123456789"
    rows: list[object] = []
    for _ in range(300):
        choice = rng.random()
        if choice < 0.1:
            rows.append({"other": 1})
        elif choice < 0.15:
            rows.append({"t": None})
        else:
            rows.append({"t": "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 25)))})
    values = records(rows)
    for expression in [".t", ".t[0:10]", ".t[3:]", ".t[:2]", ".t[11:13]"]:
        fast = KeyExtractor({"k": expression}).extract(values)
        slow = KeyExtractor({"k": f"({expression}) | ."}).extract(values)  # not a shortcut form
        assert fast.columns == slow.columns, expression
        assert fast.problems == slow.problems == {}


def test_jq_does_what_the_shortcut_cannot() -> None:
    values = records([{"d": {"site": "north", "id": 7}}, {"d": {"site": "south", "id": 8}}])
    extracted = KeyExtractor({"site": ".d.site", "id": ".d.id", "both": '"\\(.d.site)-\\(.d.id)"'})
    result = extracted.extract(values)
    assert result.columns == {
        "site": ["north", "south"],
        "id": [7, 8],
        "both": ["north-7", "south-8"],
    }


def test_failures_are_per_record_and_say_why() -> None:
    values = records([{"t": "ok"}, {"t": {"nested": 1}}, [1, 2], {"t": "fine"}])
    result = KeyExtractor({"k": ".t"}).extract(values)
    assert result.columns["k"][0] == "ok" and result.columns["k"][3] == "fine"
    assert set(result.problems) == {1, 2}
    assert "not a scalar" in result.problems[1]
    assert "jq failed" in result.problems[2]


def test_an_expression_that_is_not_jq_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="partition key 'k': invalid jq expression"):
        KeyExtractor({"k": ".t[["})
