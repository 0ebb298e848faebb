"""Files read through a counting filesystem, so that a query knows how many bytes it scanned.

DuckDB reads table files through an fsspec filesystem registered as ``tidebox://`` (local
files) or ``tidebox-s3://`` (S3, through pyarrow's S3 client, so no DuckDB extension is
needed). Every byte DuckDB asks for passes one counter: data scanned is what the query read,
column chunks and footers of the files it opened, not the size of the table.
"""

from __future__ import annotations

import threading
from typing import Any

from fsspec.implementations.local import LocalFileSystem

LOCAL = "tidebox"
S3 = "tidebox-s3"


class _Counter:
    """Bytes read, once each: a range of a file read twice (DuckDB reads a file's last 16 KB
    for its footer, which may hold the last column chunk too) counts once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ranges: dict[str, list[tuple[int, int]]] = {}

    def add(self, path: str, start: int, count: int) -> None:
        if count <= 0:
            return
        with self._lock:
            self._ranges.setdefault(path, []).append((start, start + count))

    def open(self, path: str) -> None:
        with self._lock:
            self._ranges.setdefault(path, [])

    @property
    def bytes(self) -> int:
        total = 0
        with self._lock:
            for ranges in self._ranges.values():
                end = -1
                for first, last in sorted(ranges):
                    if last <= end:
                        continue
                    total += last - max(first, end)
                    end = last
        return total

    @property
    def files(self) -> int:
        return len(self._ranges)

    def clear(self) -> None:
        with self._lock:
            self._ranges.clear()


class _CountedFile:
    """A file whose reads are counted; everything else is the wrapped file's."""

    def __init__(self, handle: Any, counter: _Counter, path: str) -> None:
        self._handle = handle
        self._counter = counter
        self._path = path
        counter.open(path)

    def read(self, size: int = -1) -> bytes:
        start = self._handle.tell()
        data = self._handle.read(size)
        self._counter.add(self._path, start, len(data))
        return bytes(data)

    def readinto(self, buffer: Any) -> int:
        start = self._handle.tell()
        count = int(self._handle.readinto(buffer))
        self._counter.add(self._path, start, count)
        return count

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)

    def __enter__(self) -> _CountedFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()


class CountingLocalFileSystem(LocalFileSystem):
    """Local files as ``tidebox:///abs/path``."""

    protocol = LOCAL
    root_marker = "/"

    def __init__(self, counter: _Counter, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.counter = counter

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        text = str(path)
        if text.startswith(f"{LOCAL}://"):
            text = text[len(LOCAL) + 3 :]
        return super()._strip_protocol(text)

    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        handle = super()._open(path, mode, **kwargs)
        if "r" in mode:
            return _CountedFile(handle, self.counter, path)
        return handle


def counting_s3(counter: _Counter, endpoint: str | None) -> Any:
    """S3 objects as ``tidebox-s3://bucket/key``, read with pyarrow's S3 client."""
    from fsspec.implementations.arrow import ArrowFSWrapper

    from tidebox.core.stores import s3_filesystem

    class CountingS3(ArrowFSWrapper):
        protocol = S3

        @classmethod
        def _strip_protocol(cls, path: Any) -> Any:
            text = str(path)
            return text[len(S3) + 3 :] if text.startswith(f"{S3}://") else text

        def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
            handle = super()._open(path, mode, **kwargs)
            if "r" in mode:
                return _CountedFile(handle, counter, path)
            return handle

    return CountingS3(s3_filesystem(endpoint))


def _process_bytes_read() -> int | None:
    """Bytes this process has read through read()/pread() (Linux's /proc/self/io rchar)."""
    try:
        with open("/proc/self/io") as handle:
            for line in handle:
                if line.startswith("rchar:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class Scanner:
    """How one DuckDB connection reads table files, and how many bytes it read.

    Local files are read by DuckDB itself (no Python in the way: a GROUP BY over 50M rows
    runs 5x faster than through fsspec), and counted by the process's own read counter
    (``/proc/self/io``) around each statement. S3 objects are read through the counting
    ``tidebox-s3://`` filesystem. Where /proc is missing, local files go through the counting
    ``tidebox://`` filesystem as well.
    """

    def __init__(self, s3_endpoint: str | None = None) -> None:
        self.counter = _Counter()
        self.local = CountingLocalFileSystem(self.counter)
        self._s3_endpoint = s3_endpoint
        self._s3: Any = None
        self.native = _process_bytes_read() is not None
        self._native_bytes = 0
        self._mark: int | None = None

    def register(self, con: Any, with_s3: bool) -> None:
        """Register the local filesystem (once per connection), and S3's when asked."""
        if not getattr(self, "_registered", False):
            con.register_filesystem(self.local)
            self._registered = True
        if with_s3:
            if self._s3 is None:
                self._s3 = counting_s3(self.counter, self._s3_endpoint)
            con.register_filesystem(self._s3)

    def uri(self, path: str) -> str:
        """The URI DuckDB reads ``path`` (a local path or s3:// URI) through."""
        if path.startswith("s3://"):
            return f"{S3}://{path[5:]}"
        return path if self.native else f"{LOCAL}://{path}"

    def start(self) -> None:
        """Around a statement: the local bytes it reads are those the process reads."""
        self._mark = _process_bytes_read() if self.native else None

    def stop(self) -> None:
        if self._mark is not None:
            now = _process_bytes_read()
            if now is not None:
                self._native_bytes += now - self._mark
        self._mark = None

    def reset(self) -> None:
        self.counter.clear()
        self._native_bytes = 0

    @property
    def bytes_read(self) -> int:
        return self.counter.bytes + self._native_bytes

    @property
    def files_opened(self) -> int:
        return self.counter.files
