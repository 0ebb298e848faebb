"""Reading a call's members: nested structures name their whole path in AWS's wording."""

from __future__ import annotations

import pytest

from tidebox.api.errors import ApiError
from tidebox.api.protocol import Request


def test_a_nested_member_names_its_whole_path() -> None:
    call = Request({"ExtendedS3DestinationConfiguration": {"BufferingHints": {"SizeInMBs": 200}}})
    hints = call.section("ExtendedS3DestinationConfiguration").section("BufferingHints")
    with pytest.raises(ApiError) as caught:
        hints.integer("SizeInMBs", minimum=1, maximum=128)
    assert caught.value.kind == "ValidationException"
    assert caught.value.message == (
        "1 validation error detected: Value '200' at "
        "'extendedS3DestinationConfiguration.bufferingHints.sizeInMBs' failed to satisfy "
        "constraint: Member must have value less than or equal to 128"
    )


def test_absent_sections_are_empty_and_enums_and_booleans_are_checked() -> None:
    call = Request({"Type": "Nope", "Enabled": "yes"})
    assert call.section("Missing").body == {}
    assert call.section("Missing").string("X") is None
    with pytest.raises(ApiError, match=r"satisfy enum value set: \[A, B\]"):
        call.enum("Type", ("A", "B"))
    with pytest.raises(ApiError) as caught:
        call.boolean("Enabled")
    assert caught.value.kind == "SerializationException"
    assert Request({}).boolean("Enabled", default=False) is False
