"""An unreachable Kafka is reported at once, in one line, instead of after a 30 s timeout."""

from __future__ import annotations

import time

import pytest

from tidebox.core.clients import (
    check_reachable,
    make_admin,
    make_consumer,
    make_fast_consumer,
    make_fast_producer,
    make_producer,
)
from tidebox.core.errors import KafkaUnavailableError
from tidebox.core.settings import Settings


@pytest.mark.parametrize(
    "make", [make_admin, make_producer, make_consumer, make_fast_producer, make_fast_consumer]
)
def test_unreachable_kafka_fails_fast(make: object) -> None:
    settings = Settings(bootstrap_servers="127.0.0.1:1")
    started = time.monotonic()
    with pytest.raises(KafkaUnavailableError, match=r"not reachable at 127\.0\.0\.1:1"):
        make(settings)  # type: ignore[operator]
    assert time.monotonic() - started < 5


def test_embedded_hint_names_tidebox_up() -> None:
    settings = Settings(kafka_port=1)
    with pytest.raises(KafkaUnavailableError, match="tidebox up"):
        check_reachable(settings)
