"""Firehose prefixes: expressions, Java time patterns, defaults, and partition values kept safe."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tidebox.core.errors import ConfigError
from tidebox.delivery.prefix import (
    PartitionValueError,
    effective_prefix,
    format_java_time,
    parse_prefix,
    random_string,
    safe_partition_value,
)

INSTANT_MS = int(datetime(2026, 3, 7, 14, 5, 9, 123000, tzinfo=UTC).timestamp() * 1000)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("yyyy/MM/dd/HH/", "2026/03/07/14/"),
        ("'dt='yyyy-MM-dd'/hour='HH", "dt=2026-03-07/hour=14"),
        ("yy-M-d H:m:s.SSS", "26-3-7 14:5:9.123"),
        ("MMM MMMM EEE EEEE", "Mar March Sat Saturday"),
        ("DDD hh a", "066 02 PM"),
        ("uuuu''MM", "2026'03"),
    ],
)
def test_java_patterns_format_as_java_does(pattern: str, expected: str) -> None:
    assert format_java_time(datetime.fromtimestamp(INSTANT_MS / 1000, UTC), pattern) == expected


def test_every_timestamp_in_a_prefix_is_the_same_instant_and_utc() -> None:
    prefix = parse_prefix("a/!{timestamp:yyyy}/b/!{timestamp:HH-mm}/")
    assert prefix.render(INSTANT_MS, "seed") == "a/2026/b/14-05/"
    assert prefix.static == "a/"


def test_random_string_is_eleven_characters_fixed_by_its_seed() -> None:
    prefix = parse_prefix("x/!{firehose:random-string}/")
    first = prefix.render(INSTANT_MS, "stream/0/100")
    assert first == prefix.render(INSTANT_MS, "stream/0/100")
    assert first != prefix.render(INSTANT_MS, "stream/0/101")
    assert len(random_string("s")) == 11 and random_string("s").isalnum()


def test_keys_and_error_type_are_substituted() -> None:
    prefix = parse_prefix(
        "d=!{partitionKeyFromQuery:device}/m=!{partitionKeyFromLambda:model}/", keys=("device",)
    )
    keys = {"partitionKeyFromQuery": {"device": "d1"}, "partitionKeyFromLambda": {"model": "m"}}
    assert prefix.render(INSTANT_MS, "s", keys) == "d=d1/m=m/"
    errors = parse_prefix("err/!{firehose:error-output-type}/", error_output=True)
    assert errors.render(INSTANT_MS, "s", error_type="format-conversion-failed") == (
        "err/format-conversion-failed/"
    )


@pytest.mark.parametrize(
    ("text", "error_output", "message"),
    [
        ("!{firehose:error-output-type}/", False, "only allowed in error_output_prefix"),
        ("!{partitionKeyFromQuery:nope}/", False, "unknown partition key 'nope'"),
        ("!{partitionKeyFromQuery:device}/", True, "not allowed in the error prefix"),
        ("!{firehose:uuid}/", False, "unknown !{firehose:uuid}"),
        ("!{weather:today}/", False, "unknown namespace 'weather'"),
        ("!{timestamp:yyyy-QQ}/", False, "letter 'Q' is not supported"),
        ("!{timestamp:'dt=yyyy}/", False, "unclosed quote"),
        ("data/!{timestamp:yyyy", False, "malformed expression"),
    ],
)
def test_bad_prefixes_are_refused_with_the_reason(
    text: str, error_output: bool, message: str
) -> None:
    with pytest.raises(ConfigError, match=message.replace("{", r"\{").replace("}", r"\}")):
        parse_prefix(text, error_output=error_output, keys=("device",))


def test_firehose_default_and_appended_time_path() -> None:
    assert effective_prefix(None, dynamic=False) == "!{timestamp:yyyy/MM/dd/HH/}"
    assert effective_prefix("raw/", dynamic=False) == "raw/!{timestamp:yyyy/MM/dd/HH/}"
    assert effective_prefix("raw/!{timestamp:yyyy}/", dynamic=False) == "raw/!{timestamp:yyyy}/"
    assert effective_prefix("by-key/", dynamic=True) == "by-key/"


@pytest.mark.parametrize(
    "hostile",
    [
        "..",
        ".",
        "../../etc",
        "a/../../b",
        "/absolute",
        "back\\slash",
        "nul\x00byte",
        "line\nbreak",
        "%2F..%2F",
        "....//....//",
    ],
)
def test_partition_values_never_climb_out_of_their_folder(hostile: str) -> None:
    safe = safe_partition_value("k", hostile)
    assert "/" not in safe and "\\" not in safe and "\x00" not in safe and "\n" not in safe
    assert safe not in (".", "..")
    prefix = parse_prefix("base/k=!{partitionKeyFromQuery:k}/", keys=("k",))
    rendered = prefix.render(0, "s", {"partitionKeyFromQuery": {"k": safe}})
    parts = rendered.split("/")
    assert parts[0] == "base" and len(parts) == 3 and ".." not in parts


def test_encoding_keeps_distinct_values_distinct() -> None:
    values = ["a/b", "a%2Fb", "a_b", "ab"]
    assert len({safe_partition_value("k", v) for v in values}) == len(values)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "is null"),
        ("", "is empty"),
        ("x" * 600, "600 characters"),
        ({"a": 1}, "not a scalar"),
    ],
)
def test_unusable_values_are_refused(value: object, message: str) -> None:
    with pytest.raises(PartitionValueError, match=message):
        safe_partition_value("k", value)


def test_numbers_and_booleans_read_as_jq_prints_them() -> None:
    assert safe_partition_value("k", 7) == "7"
    assert safe_partition_value("k", 7.0) == "7"
    assert safe_partition_value("k", 2.5) == "2.5"
    assert safe_partition_value("k", True) == "true"


def test_the_folder_of_a_prefix_ends_at_a_slash() -> None:
    assert parse_prefix("a/dt=!{timestamp:yyyy}/").folder == "a/"
    assert parse_prefix("a/b/").folder == "a/b/"
    assert parse_prefix("!{timestamp:yyyy}/").folder == ""
