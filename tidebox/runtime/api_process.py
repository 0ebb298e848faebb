"""The endpoint as a detached process: started by ``tidebox up``, stopped by ``tidebox down``.

The process runs ``python -m tidebox.api`` with the settings it was started with (written to
``<state>/api/settings.json``); its pid is kept in ``<state>/api/endpoint.pid`` and its output
in ``endpoint.log`` there. It is ready when ``GET /`` answers as tidebox.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tidebox.core.errors import RuntimeStartError
from tidebox.core.settings import Settings
from tidebox.runtime.processes import running_pid, stop_process

READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0
MODULE = "tidebox.api"


@dataclass(frozen=True)
class ApiStatus:
    url: str
    running: bool
    pid: int | None


def _home(settings: Settings) -> Path:
    return settings.state_dir / "api"


def _pid_file(settings: Settings) -> Path:
    return _home(settings) / "endpoint.pid"


def answers(url: str, timeout_s: float = 1.0) -> bool:
    """Whether a tidebox endpoint answers at ``url``."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return bool(json.loads(response.read()).get("service") == "tidebox")
    except (OSError, ValueError, urllib.error.URLError):
        return False


def _running_pid(settings: Settings) -> int | None:
    return running_pid(_pid_file(settings), MODULE)


def api_status(settings: Settings) -> ApiStatus:
    pid = _running_pid(settings)
    return ApiStatus(settings.api_url, answers(settings.api_url), pid)


def start_api(settings: Settings) -> ApiStatus:
    """Start the endpoint process unless it runs already, and wait until it answers."""
    if _running_pid(settings) is not None and answers(settings.api_url):
        return api_status(settings)
    if answers(settings.api_url):
        return api_status(settings)  # another project's endpoint, or one started by hand
    home = _home(settings).resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "settings.json"
    config.write_text(settings.model_dump_json())
    log = home / "endpoint.log"
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", MODULE, str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=home,
        )
    _pid_file(settings).write_text(f"{process.pid}\n")
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not answers(settings.api_url):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_api(settings)
            tail = " | ".join(log.read_text(errors="replace").strip().splitlines()[-3:])
            raise RuntimeStartError(
                f"the AWS endpoint did not start on {settings.api_url}: {tail or 'no output'} "
                "(set api_port / TIDEBOX_API_PORT if the port is taken)"
            )
        time.sleep(0.2)
    return api_status(settings)


def stop_api(settings: Settings) -> bool:
    """Stop the endpoint process (SIGTERM, then SIGKILL); False when none of ours ran."""
    pid = _running_pid(settings)
    _pid_file(settings).unlink(missing_ok=True)
    if pid is None:
        return False
    stop_process(pid, STOP_TIMEOUT_S, poll_s=0.1)
    return True


def shard_usage(settings: Settings, stream: str) -> dict[str, Any] | None:
    """The endpoint's record of the stream's use per shard over the last minute (see
    tidebox.api.limits), or None when no endpoint answers."""
    url = f"{settings.api_url}/_tidebox/usage/{urllib.parse.quote(stream)}"
    try:
        with urllib.request.urlopen(url, timeout=2.0) as response:
            found = json.loads(response.read())
    except (OSError, ValueError, urllib.error.URLError):
        return None
    return found if isinstance(found, dict) else None
