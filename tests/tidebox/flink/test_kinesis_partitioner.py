"""Flink jobs' keyed Kafka sinks route by the Kinesis rule, as tidebox.streams.shards does.

``io.tidebox.flink.KinesisPartitioner`` (tidebox/java) is checked against Python's
``shard_of_hash(hash_key_of(key), n)`` by a small Java main that calls it as the Kafka sink
does; then a SQL job on real Kafka must land every key on the shard ``KeyRouter`` names.
"""

from __future__ import annotations

import random
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from tests.support import TEST_STATE, readings_spec, wait_for
from tidebox.core.settings import Settings
from tidebox.flink.functions import PARTITIONER
from tidebox.runtime.functions_jar import functions_jar
from tidebox.runtime.maven import flink_connector_jars
from tidebox.streams.shards import HASH_KEY_MAX, KeyRouter, hash_key_of, shard_of_hash

needs_jdk = pytest.mark.skipif(
    shutil.which("javac") is None or shutil.which("java") is None, reason="needs a JDK (17+)"
)

# In the partitioner's package, to reach its package-private shardOf. Reads lines of
# "key N HEX" (partition key bytes, "-" for a null key) or "hash N HEX" (a 128-bit hash key),
# prints the partition of each, with partitions 0..N-1 as the connector hands them over.
PARTITIONER_CHECK = """
package io.tidebox.flink;

import java.io.*;
import java.util.HexFormat;

public class PartitionerCheck {
    public static void main(String[] args) throws IOException {
        KinesisPartitioner<Object> partitioner = new KinesisPartitioner<>();
        partitioner.open(Integer.parseInt(args[0]), Integer.parseInt(args[1]));
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        StringBuilder out = new StringBuilder();
        for (String line; (line = in.readLine()) != null; ) {
            String[] f = line.split(" ", -1);
            int n = Integer.parseInt(f[1]);
            int[] partitions = new int[n];
            for (int i = 0; i < n; i++) partitions[i] = i;
            byte[] bytes = f[2].equals("-") ? null : HexFormat.of().parseHex(f[2]);
            int shard = f[0].equals("hash")
                    ? KinesisPartitioner.shardOf(bytes, n)
                    : partitioner.partition(null, bytes, new byte[0], "topic", partitions);
            out.append(shard).append('\\n');
        }
        System.out.print(out);
    }
}
"""
SHARD_COUNTS = (1, 2, 3, 4, 5, 7, 16, 64, 1000)


@pytest.fixture(scope="module")
def check_classpath(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The check compiled against tidebox's jar and the Kafka connector; its classpath."""
    jars = [functions_jar(TEST_STATE), *flink_connector_jars(TEST_STATE)]
    folder = tmp_path_factory.mktemp("partitioner")
    source = folder / "io" / "tidebox" / "flink" / "PartitionerCheck.java"
    source.parent.mkdir(parents=True)
    source.write_text(PARTITIONER_CHECK)
    classpath = ":".join(str(jar) for jar in jars)
    javac = ["javac", "--release", "17", "-cp", classpath, "-d", str(folder), str(source)]
    done = subprocess.run(javac, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return f"{folder}:{classpath}"


def java_partitions(classpath: str, lines: list[str], instance: int = 0, of: int = 1) -> list[int]:
    main = ["java", "-cp", classpath, "io.tidebox.flink.PartitionerCheck", str(instance), str(of)]
    done = subprocess.run(
        main, input="\n".join(lines) + "\n", capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return [int(line) for line in done.stdout.split()]


def sample_keys() -> list[bytes]:
    """Device-like keys, text beyond ASCII, the empty key, and random bytes of many lengths."""
    rng = random.Random(7)
    keys = [f"device-{i:04d}".encode() for i in range(300)]
    keys += ["héllo".encode(), "日本語のキー".encode(), b"", b"x" * 256]
    keys += [rng.randbytes(rng.randrange(1, 64)) for _ in range(400)]
    return keys


@needs_jdk
def test_the_java_partitioner_agrees_with_python_on_every_key(check_classpath: str) -> None:
    keys = sample_keys()
    lines = [f"key {n} {key.hex()}" for n in SHARD_COUNTS for key in keys]
    want = [shard_of_hash(hash_key_of(key), n) for n in SHARD_COUNTS for key in keys]
    assert java_partitions(check_classpath, lines) == want
    assert len(set(want[-len(keys) :])) > 300  # the keys spread over 1000 shards: not vacuous


@needs_jdk
def test_hash_keys_at_the_range_edges_go_where_python_puts_them(check_classpath: str) -> None:
    """The ends of every shard's range, and the top of the space, which a stream whose shard
    count does not divide 2^128 gives to its last shard (MD5 never lands there on purpose)."""
    hashes = [(n, h) for n in SHARD_COUNTS for h in edge_hashes(n)]
    lines = [f"hash {n} {h:032x}" for n, h in hashes]
    assert java_partitions(check_classpath, lines) == [shard_of_hash(h, n) for n, h in hashes]


def edge_hashes(shards: int) -> list[int]:
    width = (HASH_KEY_MAX + 1) // shards
    starts = [i * width for i in range(min(shards, 20))] + [(shards - 1) * width]
    return sorted({0, HASH_KEY_MAX, shards * width - 1, *starts, *(s - 1 for s in starts if s)})


@needs_jdk
def test_records_without_a_key_go_round_robin_from_the_instance_index(
    check_classpath: str,
) -> None:
    """Subtask 1 of 2 sends keyless records to shards 1, 2, 0, 1, ... of 3; a key in between
    goes to its own shard and leaves the rotation where it was."""
    key = b"device-0001"
    lines = ["key 3 -"] * 3 + [f"key 3 {key.hex()}"] + ["key 3 -"] * 2
    got = java_partitions(check_classpath, lines, instance=1, of=2)
    assert got == [1, 2, 0, shard_of_hash(hash_key_of(key), 3), 1, 2]


@pytest.mark.flink
def test_job_sql_loads_the_jar_before_the_first_routed_sink(tmp_path: Path) -> None:
    """``tidebox job sql`` of a job writing a keyed stream: the script adds tidebox's jar
    itself, before the sink that names the partitioner, and Flink plans it as it is."""
    from tidebox.flink.environment import make_table_env
    from tidebox.flink.runner import render_job_sql

    settings = Settings(state_dir=TEST_STATE)
    stats = settings.stream("device_stats_1m")
    assert stats is not None
    own = settings.model_copy(
        update={"streams": (*settings.streams, stats.model_copy(update={"name": "stats_in"}))}
    )
    job = tmp_path / "stats_copy.sql"
    job.write_text("INSERT INTO device_stats_1m SELECT * FROM stats_in")
    statements = [s.rstrip(";\n") for s in render_job_sql(own, job).split(";\n\n") if s.strip()]
    jar = functions_jar(TEST_STATE).as_uri()
    adds = [i for i, s in enumerate(statements) if s.startswith("ADD JAR")]
    routed = [i for i, s in enumerate(statements) if PARTITIONER in s]
    assert [statements[i] for i in adds] == [f"ADD JAR '{jar}'"]
    assert len(routed) == 1 and adds[0] < routed[0]

    env, _ = make_table_env(own, "explain", 1)
    plan = env.create_statement_set()
    for statement in statements:
        if statement.startswith("INSERT"):
            plan.add_insert_sql(statement)
        elif not statement.startswith("SET"):
            env.execute_sql(statement)
    assert "Sink(table=[default_catalog.default_database.device_stats_1m]" in plan.explain()


# -- on Kafka ------------------------------------------------------------------------------------
def read_partitions(settings: Settings, stream: str, shards: int) -> list[tuple[int, bytes]]:
    """(shard, key) of every committed record of the stream, read to each shard's end."""
    from confluent_kafka import KafkaError, TopicPartition

    from tidebox.core.clients import make_fast_consumer

    consumer = make_fast_consumer(settings, **{"enable.partition.eof": True})
    records: list[tuple[int, bytes]] = []
    todo = set(range(shards))
    try:
        consumer.assign([TopicPartition(stream, shard, 0) for shard in range(shards)])

        def drained() -> bool:
            for message in consumer.consume(num_messages=10_000, timeout=0.5):
                error = message.error()
                if error is None:
                    records.append((message.partition(), message.key()))
                elif error.code() == KafkaError._PARTITION_EOF:
                    todo.discard(message.partition())
                else:
                    raise AssertionError(error.str())
            return not todo

        wait_for(drained, 60, f"every shard of {stream} read to its end")
    finally:
        consumer.close()
    return records


@pytest.mark.integration
@pytest.mark.flink
@pytest.mark.slow
def test_a_sql_job_lands_every_key_on_its_kinesis_shard(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    from tidebox.flink.runner import run_job
    from tidebox.streams.admin import create_stream
    from tidebox.streams.generate import GenerateSpec, write_dataset
    from tidebox.streams.replay import replay

    shards = 5
    source = readings_spec(kafka_settings, "route_in", shards=1)
    sink = readings_spec(kafka_settings, "route_out", shards=shards)
    settings = kafka_settings.model_copy(
        update={"streams": (*kafka_settings.streams, source, sink)}
    )
    data = write_dataset(
        GenerateSpec(devices=40, hours=0.05, interval_seconds=30), tmp_path / "in.csv"
    )
    create_stream(settings, source.name)
    replay(settings, [data.path], source.name)
    job = tmp_path / f"{sink.name}.sql"
    job.write_text(f"INSERT INTO {sink.name} SELECT * FROM {source.name}")

    result = run_job(settings, job, bounded=True)
    assert result.records_out == {sink.name: data.rows}

    records = read_partitions(settings, sink.name, shards)
    assert len(records) == data.rows
    route = KeyRouter(shards)
    misplaced = [(shard, key) for shard, key in records if shard != route(key)]
    assert misplaced == []
    keys = {key for _, key in records}
    assert len(keys) == 40 and len(Counter(route(key) for key in keys)) == shards
