"""One process at a time per delivery stream: its lock file, and its live file for status.

The process running delivery stream ``name`` holds an exclusive ``flock`` on
``<state>/sinks/<name>/lock``, which holds its pid; while it runs it rewrites ``live.json``
beside it with what only it knows (its buffer and positions). :func:`is_running` asks the same
lock without taking it.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tidebox.core.errors import TideboxError
from tidebox.core.settings import Settings
from tidebox.delivery.delivery import DeliveryStream


class SinkRunningError(TideboxError):
    """A delivery stream is already being run by another process."""

    def __init__(self, name: str, pid: str) -> None:
        super().__init__(f"delivery stream {name} is already running (pid {pid or '?'})")
        self.name = name


def live_path(settings: Settings, name: str) -> Path:
    return settings.state_dir / "sinks" / name / "live.json"


def lock_path(settings: Settings, name: str) -> Path:
    """Held by the one process running delivery stream ``name``; it holds that pid."""
    return settings.state_dir / "sinks" / name / "lock"


@contextmanager
def exclusive(settings: Settings, name: str) -> Iterator[None]:
    """Hold delivery stream ``name``'s lock for a ``with`` block (SinkRunningError if another
    process holds it); the live file goes when the block ends."""
    lock = lock_path(settings, name)
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            raise SinkRunningError(name, handle.read().strip()) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            live_path(settings, name).unlink(missing_ok=True)


def write_live(settings: Settings, delivery: DeliveryStream, positions: dict[int, int]) -> None:
    """What only the running process knows, for ``tidebox sink status``."""
    path = live_path(settings, delivery.name)
    state = {
        "pid": os.getpid(),
        "updated": time.time(),
        "buffered_records": delivery.buffered_records,
        "buffered_bytes": delivery.buffered_bytes,
        "buffer_limit_bytes": delivery.buffer_bytes,
        "positions": {str(p): o for p, o in positions.items()},
    }
    tmp = path.with_name(".live.json.tmp")
    tmp.write_text(json.dumps(state))
    os.replace(tmp, path)


def is_running(settings: Settings, name: str) -> int | None:
    """The pid of the process running delivery stream ``name`` (-1 if it wrote none), or None."""
    lock = lock_path(settings, name)
    if not lock.exists():
        return None
    with open(lock, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            text = handle.read().strip()
            return int(text) if text.isdigit() else -1
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None
