"""The detached processes tidebox starts (the broker, the AWS endpoint): found by pid file and
stopped the same way."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path


def running_pid(pid_file: Path, marker: str) -> int | None:
    """The pid in ``pid_file`` if that process is alive and its command line holds ``marker``
    (so a pid reused by another program is not taken for ours), else None."""
    try:
        pid = int(pid_file.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if marker.encode() in cmdline else None


def is_gone(pid: int) -> bool:
    """True once the process has exited (or is a zombie waiting to be reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


def stop_process(pid: int, timeout_s: float, poll_s: float = 0.2) -> None:
    """SIGTERM, then SIGKILL if it has not exited within ``timeout_s``."""
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if is_gone(pid):
            return
        time.sleep(poll_s)
    os.kill(pid, signal.SIGKILL)
