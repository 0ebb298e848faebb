"""The few calls of Flink's REST API that tidebox needs: list, cancel, stop with a savepoint.

The same API serves the local mini-cluster (bound to a loopback port while a job runs) and any
Flink cluster, so ``job list`` and ``job stop`` work the same for both.
"""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

from tidebox.core.errors import JobError

_TIMEOUT_S = 10.0


def _call(url: str, method: str = "GET", body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=_TIMEOUT_S) as response:
        text = response.read()
    return json.loads(text) if text else {}


def reachable(rest_url: str) -> bool:
    """True when a Flink REST endpoint answers at ``rest_url``."""
    try:
        _call(f"{rest_url.rstrip('/')}/config")
    except (OSError, ValueError):
        return False
    return True


def task_managers(rest_url: str) -> int:
    """How many TaskManagers the cluster has registered (0 while it starts, or is gone)."""
    try:
        return int(_call(f"{rest_url.rstrip('/')}/overview")["taskmanagers"])
    except (OSError, ValueError, KeyError):
        return 0


def list_jobs(rest_url: str) -> list[dict[str, Any]]:
    """The jobs the cluster knows (running and recently ended), as Flink's overview lists them."""
    try:
        return list(_call(f"{rest_url.rstrip('/')}/jobs/overview")["jobs"])
    except (OSError, ValueError, KeyError) as exc:
        raise JobError(rest_url, f"the Flink REST API does not answer: {exc}") from exc


def job_state(rest_url: str, job_id: str) -> str | None:
    """The state of one job (RUNNING, FINISHED, ...), or None if the cluster is gone."""
    try:
        return str(_call(f"{rest_url.rstrip('/')}/jobs/{job_id}")["state"])
    except (OSError, ValueError, KeyError):
        return None


def cancel_job(rest_url: str, job_id: str) -> None:
    try:
        _call(f"{rest_url.rstrip('/')}/jobs/{job_id}?mode=cancel", method="PATCH")
    except (OSError, ValueError) as exc:
        raise JobError(job_id, f"cannot cancel: {exc}") from exc


def tasks_running(rest_url: str, job_id: str) -> bool:
    """True when every task of the job runs: a job is RUNNING while its tasks still deploy or
    restore their state, and a savepoint asked for then fails."""
    try:
        vertices = _call(f"{rest_url.rstrip('/')}/jobs/{job_id}")["vertices"]
    except (OSError, ValueError, KeyError):
        return False
    return bool(vertices) and all(v.get("status") == "RUNNING" for v in vertices)


def savepoint_failure(operation: dict[str, Any]) -> str:
    """The innermost cause of a failed savepoint, in one line (Flink gives a Java trace)."""
    cause = operation["failure-cause"]
    lines = str(cause.get("stack-trace", "")).splitlines()
    reasons = [ln.split("Caused by: ", 1)[1] for ln in lines if ln.startswith("Caused by: ")]
    return (reasons or lines[:1] or [str(cause.get("class", "unknown"))])[-1].strip()


def stop_with_savepoint(
    rest_url: str, job_id: str, target: str, timeout_s: float = 120, attempts: int = 3
) -> str:
    """Stop the job after a savepoint into ``target``; return the savepoint's path.

    Flink commits the job's pending Kafka transactions with the savepoint, so the output up
    to it is visible to consumers reading committed data. A savepoint is only asked for once
    every task runs (just after a restart the job is RUNNING while its tasks restore), and
    one that fails while the job keeps running (a checkpoint it could not take: the job is
    not stopped then) is asked for again, up to ``attempts`` times.
    """
    base = f"{rest_url.rstrip('/')}/jobs/{job_id}"
    deadline = time.monotonic() + timeout_s
    try:
        for attempt in range(1, attempts + 1):
            while not tasks_running(rest_url, job_id):
                if time.monotonic() > deadline:
                    raise JobError(job_id, f"its tasks did not all run within {timeout_s:.0f} s")
                time.sleep(0.3)
            trigger = _call(f"{base}/stop", "POST", {"targetDirectory": target, "drain": False})
            operation = _await_savepoint(base, trigger["request-id"], job_id, deadline, timeout_s)
            if "failure-cause" not in operation:
                return str(operation["location"])
            if attempt == attempts or job_state(rest_url, job_id) != "RUNNING":
                raise JobError(job_id, f"the savepoint failed: {savepoint_failure(operation)}")
    except (OSError, ValueError, KeyError) as exc:
        raise JobError(job_id, f"cannot stop with a savepoint: {exc}") from exc
    raise JobError(job_id, "the savepoint failed")  # not reached: the last attempt raises


def _await_savepoint(
    base: str, request_id: str, job_id: str, deadline: float, timeout_s: float
) -> dict[str, Any]:
    """The finished savepoint operation: its ``location``, or its ``failure-cause``."""
    while time.monotonic() < deadline:
        status = _call(f"{base}/savepoints/{request_id}")
        if status["status"]["id"] == "COMPLETED":
            return dict(status.get("operation", {}))
        time.sleep(0.3)
    raise JobError(job_id, f"no savepoint after {timeout_s:.0f} s")
