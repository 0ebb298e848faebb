"""Streams on the real broker: create, list, describe (offsets and counts), delete."""

from __future__ import annotations

import time

import pytest

from tests.support import unique, wait_for
from tidebox.core.clients import make_producer
from tidebox.core.errors import StreamExistsError, StreamNotFoundError, TideboxError
from tidebox.core.settings import Settings
from tidebox.streams.admin import create_stream, delete_stream, describe_stream, list_streams

pytestmark = pytest.mark.integration


def test_create_describe_list_delete(kafka_settings: Settings) -> None:
    name = unique("stream")
    info = create_stream(kafka_settings, name, shards=3, retention_hours=2)
    assert [s.shard for s in info.shards] == [0, 1, 2]
    assert info.retention_hours == 2
    assert info.records == 0
    assert name in list_streams(kafka_settings)

    producer = make_producer(kafka_settings)
    for i in range(30):
        producer.send(name, key=f"device-{i % 4}".encode(), value=b"{}")
    producer.flush()
    producer.close()

    described = describe_stream(kafka_settings, name)
    assert described.records == 30
    assert sum(s.latest for s in described.shards) == 30
    assert all(s.earliest == 0 for s in described.shards)
    # the same key always lands on the same shard: 4 keys use at most 3 shards, each with records
    assert sum(1 for s in described.shards if s.records) <= 3

    delete_stream(kafka_settings, name)
    wait_for(lambda: name not in list_streams(kafka_settings), 20, f"{name} to be deleted")
    assert name not in list_streams(kafka_settings)


def test_describe_counts_the_committed_records_of_a_transactional_stream(
    kafka_settings: Settings,
) -> None:
    """As an exactly-once job writes: each commit adds a marker per shard, which takes an
    offset but is no record, and an aborted transaction's records are never read."""
    from confluent_kafka import Producer

    name = unique("transactional")
    create_stream(kafka_settings, name, shards=2)
    producer = Producer(
        {"bootstrap.servers": kafka_settings.kafka_bootstrap, "transactional.id": unique("tx")}
    )
    producer.init_transactions(30)
    sent = {0: 0, 1: 0}
    for batch in range(4):
        producer.begin_transaction()
        for i in range(5 + batch):
            shard = i % 2
            producer.produce(name, value=b"{}", partition=shard)
            sent[shard] += 1
        producer.commit_transaction(30)
    producer.begin_transaction()
    producer.produce(name, value=b"aborted", partition=0)
    producer.flush(30)
    producer.abort_transaction(30)

    described = describe_stream(kafka_settings, name)
    assert described.records == sum(sent.values()) == 26
    assert {s.shard: s.records for s in described.shards} == sent
    # the offsets hold more than the records: 4 commit markers, the aborted record, its marker
    assert described.shards[0].latest - described.shards[0].earliest == sent[0] + 4 + 2
    assert described.shards[1].latest - described.shards[1].earliest == sent[1] + 4


def test_default_retention_is_24_hours_and_one_shard(kafka_settings: Settings) -> None:
    info = create_stream(kafka_settings, unique("defaults"))
    assert info.retention_hours == 24
    assert len(info.shards) == 1


def test_records_are_stamped_on_arrival_so_old_event_times_do_not_expire(
    kafka_settings: Settings,
) -> None:
    from kafka.admin import ConfigResource, ConfigResourceType

    from tidebox.core.clients import make_admin

    name = unique("arrival")
    create_stream(kafka_settings, name, retention_hours=1)
    producer = make_producer(kafka_settings)
    producer.send(name, value=b"{}", timestamp_ms=1_000_000_000_000)  # an event from 2001
    producer.flush()
    producer.close()
    admin = make_admin(kafka_settings)
    resource = ConfigResource(ConfigResourceType.TOPIC, name, configs=["message.timestamp.type"])
    configs = admin.describe_configs([resource])["topic"][name]
    admin.close()
    assert configs["message.timestamp.type"]["value"] == "LogAppendTime"
    from kafka import TopicPartition

    from tidebox.core.clients import make_consumer

    consumer = make_consumer(kafka_settings)
    consumer.assign([TopicPartition(name, 0)])
    [record] = [m for batch in consumer.poll(timeout_ms=5000).values() for m in batch]
    consumer.close()
    assert abs(record.timestamp / 1000 - time.time()) < 600  # arrival time, not 2001


def test_declared_stream_takes_its_shards_from_the_spec(kafka_settings: Settings) -> None:
    spec = kafka_settings.stream("sensor_readings")
    assert spec is not None
    name = unique("declared")
    settings = kafka_settings.model_copy(
        update={"streams": (spec.model_copy(update={"name": name, "shards": 4}),)}
    )
    assert len(create_stream(settings, name).shards) == 4


def test_unknown_and_duplicate_streams_are_clear_errors(kafka_settings: Settings) -> None:
    with pytest.raises(StreamNotFoundError, match="unknown stream 'nope_x'"):
        describe_stream(kafka_settings, "nope_x")
    with pytest.raises(StreamNotFoundError):
        delete_stream(kafka_settings, "nope_x")
    name = unique("twice")
    create_stream(kafka_settings, name)
    with pytest.raises(StreamExistsError, match="already exists"):
        create_stream(kafka_settings, name)
    with pytest.raises(TideboxError, match="--shards must be at least 1"):
        create_stream(kafka_settings, unique("bad"), shards=0)
