"""What Kinesis keeps about a stream and Kafka does not: creation time, capacity mode and tags.

Kept in ``<state>/streams/metadata.json``, shared by every tidebox process (the CLI and the
AWS endpoint), so a read-modify-write holds an exclusive lock on a neighbouring lock file and
replaces the file atomically. A stream that tidebox did not create (an external Kafka's topic)
gets its creation time the first time it is seen.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from tidebox.core.settings import Settings

MODES = ("PROVISIONED", "ON_DEMAND")


@dataclass(frozen=True)
class StreamMetadata:
    created: float
    mode: str = "PROVISIONED"
    tags: dict[str, str] = field(default_factory=dict)


def _path(settings: Settings) -> Path:
    return settings.state_dir / "streams" / "metadata.json"


@contextmanager
def _locked(settings: Settings) -> Iterator[dict[str, Any]]:
    """The whole file's mapping, under the lock; changes to it are written back on exit."""
    path = _path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    with (path.parent / "metadata.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError):
                data = {}
            before = json.dumps(data, sort_keys=True)
            yield data
            if json.dumps(data, sort_keys=True) != before:
                temporary = path.with_suffix(".tmp")
                temporary.write_text(json.dumps(data, indent=1, sort_keys=True))
                os.replace(temporary, path)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _parse(raw: dict[str, Any]) -> StreamMetadata:
    return StreamMetadata(
        created=float(raw.get("created", time.time())),
        mode=str(raw.get("mode", "PROVISIONED")),
        tags={str(k): str(v) for k, v in (raw.get("tags") or {}).items()},
    )


def read_metadata(settings: Settings, name: str) -> StreamMetadata:
    """The stream's metadata; one seen for the first time is recorded as created now."""
    return update_metadata(settings, name, lambda meta: meta)


def update_metadata(
    settings: Settings, name: str, change: Callable[[StreamMetadata], StreamMetadata]
) -> StreamMetadata:
    """Apply ``change`` to the stream's metadata under the lock and keep the result."""
    with _locked(settings) as data:
        current = _parse(data[name]) if name in data else StreamMetadata(created=time.time())
        changed = change(current)
        data[name] = asdict(changed)
        return changed


def record_created(settings: Settings, name: str, mode: str, tags: dict[str, str]) -> None:
    """A stream was just created: its metadata starts afresh (a stream of the same name that
    was deleted before leaves nothing behind)."""
    with _locked(settings) as data:
        data[name] = asdict(StreamMetadata(created=time.time(), mode=mode, tags=dict(tags)))


def forget(settings: Settings, name: str) -> None:
    """A stream was deleted: drop its metadata."""
    with _locked(settings) as data:
        data.pop(name, None)


def with_tags(
    meta: StreamMetadata, added: dict[str, str], removed: tuple[str, ...] = ()
) -> StreamMetadata:
    """``meta`` with ``added`` tags set and ``removed`` keys gone."""
    tags = {k: v for k, v in {**meta.tags, **added}.items() if k not in removed}
    return replace(meta, tags=tags)
