"""Graceful stops: SIGINT (Ctrl-C) and SIGTERM become a flag that long-running loops poll.

A loop that polls the flag can finish its unit of work (flush a batch, cancel a Flink job)
instead of dying halfway inside a library call.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class StopRequest:
    """Set once SIGINT or SIGTERM arrives while :meth:`installed` is active, or once ``event``
    is set: the way another thread (the AWS endpoint, which runs delivery streams on threads)
    asks a loop to stop, since only the main thread receives signals."""

    def __init__(self, event: threading.Event | None = None) -> None:
        self._signalled = False
        self._event = event

    @property
    def requested(self) -> bool:
        return self._signalled or (self._event is not None and self._event.is_set())

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self._signalled = True

    @contextmanager
    def installed(self) -> Iterator[StopRequest]:
        if threading.current_thread() is not threading.main_thread():
            yield self  # signal handlers can only be set from the main thread
            return
        previous = {
            sig: signal.signal(sig, self._handle) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            yield self
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
