"""Where a delivery stream writes: a local folder acting as a bucket, or an S3-compatible bucket.

Both give the same small contract, the one delivery needs: put an object whole (it is either
there complete or not there at all), read one back, test, delete and list. On a local folder an
object is written to a hidden name beside its target, fsynced and renamed into place; on S3 an
upload is only visible once it completes, so no reader ever sees part of a file.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from tidebox.core.errors import TideboxError


class StoreError(TideboxError):
    """The destination cannot be reached or written."""

    def __init__(self, location: str, problem: str) -> None:
        super().__init__(f"{location}: {problem}")
        self.location = location
        self.problem = problem


class Store(Protocol):
    """Objects under one root, addressed by keys with ``/`` separators."""

    @property
    def location(self) -> str: ...

    def put(self, key: str, data: bytes) -> None: ...
    def get(self, key: str) -> bytes | None: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...
    def list(self, prefix: str = "") -> builtins.list[tuple[str, int]]: ...
    def uri(self, key: str) -> str: ...


@dataclass
class LocalStore:
    """A folder acting as a bucket."""

    root: Path

    @property
    def location(self) -> str:
        return str(self.root)

    def _path(self, key: str) -> Path:
        return self.root / key

    def put(self, key: str, data: bytes) -> None:
        final = self._path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.parent / f".{final.name}.tmp"
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, final)
        _fsync_folder(final.parent)

    def get(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        """Delete an object, and the folders it leaves empty (S3 has no folders to leave)."""
        path = self._path(key)
        path.unlink(missing_ok=True)
        root = self.root.resolve()
        folder = path.parent.resolve()
        while folder != root and folder.is_relative_to(root):
            try:
                folder.rmdir()
            except OSError:
                break
            folder = folder.parent

    def list(self, prefix: str = "") -> builtins.list[tuple[str, int]]:
        """Keys below ``prefix`` (a folder or a key start) with their sizes, in key order.

        A file a killed writer left half-written (hidden, ``.tmp``) is not an object."""
        base = (
            self._path(prefix) if prefix.endswith("/") or not prefix else self._path(prefix).parent
        )
        if not base.is_dir():
            return []
        found = []
        for path in base.rglob("*"):
            if path.is_file() and not (path.name.startswith(".") and path.name.endswith(".tmp")):
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    found.append((key, path.stat().st_size))
        return sorted(found)

    def remove_temporaries(
        self, prefix: str = "", owned: Callable[[str], bool] | None = None
    ) -> builtins.list[str]:
        """Delete the hidden half-written files a killed writer left behind; with ``owned``,
        only those whose final name (without the dot and ``.tmp``) it accepts, so that a
        writer never deletes another's file while that one is being written."""
        base = self._path(prefix) if prefix else self.root
        removed = []
        if base.is_dir():
            for path in base.rglob(".*.tmp"):
                if owned is not None and not owned(path.name[1 : -len(".tmp")]):
                    continue
                path.unlink(missing_ok=True)
                removed.append(path.relative_to(self.root).as_posix())
        return removed

    def uri(self, key: str) -> str:
        return str(self._path(key))


def _fsync_folder(folder: Path) -> None:
    """Make a rename durable: fsync the folder that holds the new name."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class S3Store:
    """A bucket (and optional base prefix) on an S3-compatible endpoint, through pyarrow's S3."""

    bucket: str
    base: str
    endpoint: str | None

    def __post_init__(self) -> None:
        self._fs = s3_filesystem(self.endpoint, self.location)

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.base}".rstrip("/")

    def _path(self, key: str) -> str:
        return "/".join(p for p in (self.bucket, self.base.strip("/"), key) if p)

    def put(self, key: str, data: bytes) -> None:
        try:
            # compression=None: pyarrow would otherwise gzip a .gz key's bytes a second time
            with self._fs.open_output_stream(self._path(key), compression=None) as out:
                out.write(data)
        except OSError as exc:
            raise StoreError(self.uri(key), f"upload failed: {exc}") from exc

    def get(self, key: str) -> bytes | None:
        try:
            with self._fs.open_input_stream(self._path(key), compression=None) as handle:
                return bytes(handle.read())
        except FileNotFoundError:
            return None
        except OSError as exc:
            if "NoSuchKey" in str(exc) or "does not exist" in str(exc):
                return None
            raise StoreError(self.uri(key), f"read failed: {exc}") from exc

    def exists(self, key: str) -> bool:
        from pyarrow import fs

        try:
            return bool(self._fs.get_file_info(self._path(key)).type == fs.FileType.File)
        except OSError as exc:
            raise StoreError(self.uri(key), f"cannot reach: {exc}") from exc

    def delete(self, key: str) -> None:
        try:
            self._fs.delete_file(self._path(key))
        except FileNotFoundError:
            pass
        except OSError as exc:
            if "NoSuchKey" not in str(exc):
                raise StoreError(self.uri(key), f"delete failed: {exc}") from exc

    def list(self, prefix: str = "") -> builtins.list[tuple[str, int]]:
        from pyarrow import fs

        folder = prefix if prefix.endswith("/") or not prefix else prefix.rsplit("/", 1)[0]
        root = self._path(folder.rstrip("/"))
        selector = fs.FileSelector(root, recursive=True, allow_not_found=True)
        try:
            infos = self._fs.get_file_info(selector)
        except OSError as exc:
            raise StoreError(self.location, f"cannot list: {exc}") from exc
        strip = len(self._path("")) + (1 if self._path("") else 0)
        keys = [
            (info.path[strip:], int(info.size or 0))
            for info in infos
            if info.type == fs.FileType.File
        ]
        return sorted((k, s) for k, s in keys if k.startswith(prefix))

    def uri(self, key: str) -> str:
        return f"s3://{self._path(key)}"


def s3_filesystem(endpoint: str | None, location: str = "s3://") -> Any:
    """pyarrow's S3 client for ``endpoint`` (AWS's when None); credentials come from the usual
    AWS_* variables. ``location`` names what it is for in an error."""
    from pyarrow import fs

    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")  # no instance metadata here
    options: dict[str, object] = {"region": os.environ.get("AWS_REGION", "us-east-1")}
    if endpoint:
        parsed = urlparse(endpoint if "://" in endpoint else f"http://{endpoint}")
        options["endpoint_override"] = parsed.netloc
        options["scheme"] = parsed.scheme or "http"
    try:
        return fs.S3FileSystem(**options)
    except Exception as exc:  # pyarrow raises its own OSError subclasses
        raise StoreError(location, f"cannot open S3: {exc}") from exc


def open_store(destination: str, s3_endpoint: str | None = None) -> LocalStore | S3Store:
    """The store of a destination: ``s3://bucket[/base]`` or a local folder."""
    if destination.startswith("s3://"):
        parsed = urlparse(destination)
        if not parsed.netloc:
            raise StoreError(destination, "an S3 destination needs a bucket: s3://bucket/path")
        return S3Store(parsed.netloc, parsed.path.strip("/"), s3_endpoint)
    if "://" in destination:
        raise StoreError(destination, "a destination is a local folder or s3://bucket/path")
    return LocalStore(Path(destination))
