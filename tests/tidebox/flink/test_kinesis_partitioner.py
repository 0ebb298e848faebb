"""``io.tidebox.flink.KinesisPartitioner`` (tidebox/java) routes as tidebox.streams.shards does:
checked against Python's ``shard_of_hash(hash_key_of(key), n)`` by a small Java main that calls
it as the Kafka sink does."""

from __future__ import annotations

import random
import shutil
import subprocess

import pytest

from tests.support import TEST_STATE
from tidebox.runtime.functions_jar import functions_jar
from tidebox.runtime.maven import flink_connector_jars
from tidebox.streams.shards import HASH_KEY_MAX, hash_key_of, shard_of_hash

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
