"""Unit tests of tidebox.streams.merge: files merged by event time a chunk at a time, as one
sort of everything would merge them, holding no more than two chunks per file."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pytest

from tidebox.streams.merge import Batch, concat, in_file_order, merge_by_time


def file_batches(times: list[int], file: int, chunk: int) -> Iterator[Batch]:
    """A file of records at ``times`` read ``chunk`` at a time; each value names file and row."""
    for start in range(0, len(times), chunk):
        part = times[start : start + chunk]
        values = [f"{file}:{start + i}".encode() for i in range(len(part))]
        keys = pa.array([f"k{file}".encode()] * len(part), pa.binary())
        yield Batch(np.array(part, dtype=np.int64), pa.array(values, pa.binary()), keys)


def merged(files: list[list[int]], chunk: int) -> list[bytes]:
    sources = [file_batches(times, i, chunk) for i, times in enumerate(files)]
    return [v for batch in merge_by_time(sources, chunk) for v in batch.values.to_pylist()]


def one_sort(files: list[list[int]]) -> list[bytes]:
    """Everything sorted at once by (time, file, row)."""
    rows = [(t, f, r) for f, times in enumerate(files) for r, t in enumerate(times)]
    return [f"{f}:{r}".encode() for _, f, r in sorted(rows)]


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 50, 1000])
@pytest.mark.parametrize("seed", range(5))
def test_files_in_time_order_merge_as_one_sort_would(chunk: int, seed: int) -> None:
    """Whatever the chunk size, ties included (many records of one time, across chunks and
    files), files of different lengths and empty files."""
    rng = np.random.default_rng(seed)
    files = [sorted(rng.integers(0, 40, int(rng.integers(0, 120))).tolist()) for _ in range(4)] + [
        []
    ]
    assert merged(files, chunk) == one_sort(files)


def test_a_file_within_one_chunk_is_sorted_whole() -> None:
    files = [[5, 3, 9, 3, 1], [4, 4, 0]]
    assert merged(files, 10) == one_sort(files)


def test_a_record_back_in_time_across_chunks_is_sent_when_read() -> None:
    """Chunks of 3: the 1 and 2 of the second chunk come after the 5, 6, 7 already sent."""
    assert merged([[6, 5, 7, 2, 1]], 3) == [b"0:1", b"0:0", b"0:2", b"0:4", b"0:3"]


def test_file_order_keeps_the_files_as_they_are() -> None:
    sources = [file_batches([3, 1], 0, 1), file_batches([], 1, 1), file_batches([2, 0], 2, 1)]
    values = [v for b in in_file_order(sources) for v in b.values.to_pylist()]
    assert values == [b"0:0", b"0:1", b"2:0", b"2:1"]


def test_no_file_holds_more_than_two_chunks() -> None:
    """Memory is bounded by the chunk size: a file far ahead in time is not read on while
    another catches up, and what has been read but not given out stays under two chunks."""
    chunk = 100
    late = list(range(10_000, 20_000))  # a file entirely after the other
    early = list(range(10_000))
    read = [0, 0]

    def counted(times: list[int], file: int) -> Iterator[Batch]:
        for batch in file_batches(times, file, chunk):
            read[file] += len(batch)
            yield batch

    given = [0, 0]
    most_held = 0
    for batch in merge_by_time([counted(late, 0), counted(early, 1)], chunk):
        for value in batch.values.to_pylist():
            given[int(value.split(b":")[0])] += 1
        most_held = max(most_held, read[0] - given[0], read[1] - given[1])
    assert given == [10_000, 10_000]
    assert most_held <= 2 * chunk


def test_records_without_keys_merge_with_keyed_ones() -> None:
    keyed = Batch(np.array([1, 2]), pa.array([b"a", b"b"]), pa.array([b"k", b"k"], pa.binary()))
    bare = Batch(np.array([1]), pa.array([b"c"], pa.binary()), None)
    batch = concat(list(merge_by_time([iter([bare]), iter([keyed])], 10)))
    assert batch.values.to_pylist() == [b"c", b"a", b"b"]
    assert batch.keys is not None and batch.keys.to_pylist() == [None, b"k", b"k"]
