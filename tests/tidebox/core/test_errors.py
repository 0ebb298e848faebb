"""Every error is a TideboxError with one line of text and the data a caller needs."""

from __future__ import annotations

import pytest

from tidebox.core import errors
from tidebox.core.errors import (
    CheckFailedError,
    ConfigError,
    InputFileError,
    JobError,
    KafkaUnavailableError,
    StreamNotFoundError,
    TableNotFoundError,
    TideboxError,
)

EXAMPLES: list[TideboxError] = [
    ConfigError("kafka_port: too small", source="tidebox.yaml"),
    InputFileError("a.csv", "unparseable time", line=3),
    KafkaUnavailableError("127.0.0.1:9092", "start it with 'tidebox up'"),
    StreamNotFoundError("readings"),
    JobError("jobs/x.sql", "Column 'y' not found"),
    TableNotFoundError("t", ["a", "b"]),
    CheckFailedError("suite", ["expect_a(x)", "expect_b(y)"]),
]


@pytest.mark.parametrize("error", EXAMPLES, ids=lambda e: type(e).__name__)
def test_errors_are_one_line_and_share_the_root(error: TideboxError) -> None:
    assert isinstance(error, TideboxError)
    assert "\n" not in str(error) and str(error)
    assert error.exit_code != 0


def test_errors_carry_their_data() -> None:
    assert str(InputFileError("a.csv", "bad", line=3)) == "a.csv:3: bad"
    assert InputFileError("a.csv", "bad", line=3).line == 3
    assert TableNotFoundError("t", ["a"]).known == ["a"]
    assert CheckFailedError("s", ["x"]).failed == ["x"]
    assert KafkaUnavailableError("h:1").bootstrap_servers == "h:1"
    assert str(ConfigError("bad")) == "bad"


def test_every_error_class_derives_from_the_root() -> None:
    classes = [v for v in vars(errors).values() if isinstance(v, type) and issubclass(v, Exception)]
    assert all(issubclass(c, TideboxError) for c in classes)
