"""SIGINT and SIGTERM become a polled stop request, and the old handlers come back after."""

from __future__ import annotations

import os
import signal

from tidebox.core.signals import StopRequest


def test_signals_set_the_flag_and_handlers_are_restored() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with StopRequest().installed() as stop:
        assert not stop.requested
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.requested
    assert signal.getsignal(signal.SIGTERM) is before
    with StopRequest().installed() as stop:
        os.kill(os.getpid(), signal.SIGINT)  # no KeyboardInterrupt: just the flag
        assert stop.requested
