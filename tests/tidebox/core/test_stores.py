"""Stores: a local folder and a real S3 endpoint keep the same contract."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import make_bucket
from tidebox.core.stores import LocalStore, S3Store, StoreError, open_store


def exercise(store: LocalStore | S3Store) -> None:
    assert store.get("a/b/c.bin") is None and not store.exists("a/b/c.bin")
    store.put("a/b/c.bin", b"one")
    store.put("a/b/c.bin", b"two")  # a put replaces the object whole
    store.put("a/d.bin", b"three")
    store.put("z.bin", b"")
    assert store.get("a/b/c.bin") == b"two" and store.exists("a/d.bin")
    assert store.list("a/") == [("a/b/c.bin", 3), ("a/d.bin", 5)]
    assert store.list("a/b") == [("a/b/c.bin", 3)]
    assert [k for k, _ in store.list()] == ["a/b/c.bin", "a/d.bin", "z.bin"]
    store.delete("a/b/c.bin")
    store.delete("a/b/c.bin")  # deleting what is gone is no error
    assert store.list("a/") == [("a/d.bin", 5)]
    assert store.list("nothing/") == []
    store.put("x.gz", b"\x1f\x8bnot really gzip")  # bytes are stored as given, whatever the name
    assert store.get("x.gz") == b"\x1f\x8bnot really gzip"
    assert ("x.gz", 17) in store.list()


def test_local_store(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "bucket")
    exercise(store)
    (tmp_path / "bucket" / "a" / ".d.bin.tmp").write_bytes(b"half")
    assert store.list("a/") == [("a/d.bin", 5)]  # a half-written file is no object
    assert store.remove_temporaries() == ["a/.d.bin.tmp"]


def test_s3_store(s3_endpoint: str) -> None:
    bucket = make_bucket(s3_endpoint)
    store = open_store(f"s3://{bucket}/base/path", s3_endpoint)
    assert isinstance(store, S3Store) and store.location == f"s3://{bucket}/base/path"
    exercise(store)
    assert store.uri("a/d.bin") == f"s3://{bucket}/base/path/a/d.bin"


def test_destinations_that_are_neither_are_refused() -> None:
    with pytest.raises(StoreError, match="needs a bucket"):
        open_store("s3:///path")
    with pytest.raises(StoreError, match="local folder or s3://"):
        open_store("gs://bucket/x")
