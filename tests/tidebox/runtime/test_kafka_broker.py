"""The embedded broker itself: up, status, down, data surviving a restart, a taken port."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import TEST_STATE, free_port_pair, unique
from tidebox.core.clients import make_producer
from tidebox.core.errors import RuntimeStartError
from tidebox.core.settings import Settings
from tidebox.runtime import broker_status, start_broker, stop_broker
from tidebox.streams.admin import create_stream, describe_stream

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def own_broker(tmp_path: Path, kafka_settings: Settings) -> Settings:
    """A second broker with its own data and port, sharing the session's cached jars."""
    state = tmp_path / "state"
    state.mkdir()
    (state / "jars").symlink_to(TEST_STATE / "jars")
    return Settings(state_dir=state, kafka_port=free_port_pair())


def test_data_survives_down_and_up(kafka_settings: Settings, tmp_path: Path) -> None:
    settings = own_broker(tmp_path, kafka_settings)
    assert not broker_status(settings).running
    status = start_broker(settings)
    assert status.running and status.pid
    assert status.bootstrap_servers == f"127.0.0.1:{settings.kafka_port}"
    assert start_broker(settings).pid == status.pid  # a second 'up' is a no-op

    stream = unique("durable")
    create_stream(settings, stream, shards=2)
    producer = make_producer(settings)
    for i in range(25):
        producer.send(stream, key=str(i % 5).encode(), value=b"{}")
    producer.flush()
    producer.close()

    assert stop_broker(settings) is True
    assert not broker_status(settings).running
    assert stop_broker(settings) is False

    start_broker(settings)
    try:
        assert describe_stream(settings, stream).records == 25
    finally:
        stop_broker(settings)


def test_a_taken_port_is_a_clear_error(kafka_settings: Settings, tmp_path: Path) -> None:
    clash = own_broker(tmp_path, kafka_settings).model_copy(
        update={"kafka_port": kafka_settings.kafka_port}
    )
    with pytest.raises(RuntimeStartError, match=f"port {kafka_settings.kafka_port}"):
        start_broker(clash)


def test_external_kafka_status_reports_reachability(kafka_settings: Settings) -> None:
    external = Settings(bootstrap_servers=kafka_settings.kafka_bootstrap)
    assert not external.embedded
    assert broker_status(external).running
    assert not broker_status(Settings(bootstrap_servers="127.0.0.1:1")).running
