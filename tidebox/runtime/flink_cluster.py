"""A standalone Flink cluster (one JobManager, one TaskManager) on this machine, on loopback.

It runs from the Flink distribution inside the apache-flink wheel, so it is the very Flink the
local mini-cluster is; ``tidebox job run --cluster`` then submits to it exactly as it would to
the docker-compose cluster or any other. Its configuration, logs and pid files live under
``<state>/flink-cluster``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tidebox.core.errors import RuntimeStartError
from tidebox.core.settings import Settings
from tidebox.runtime.flink_rest import reachable, task_managers

DEFAULT_REST_PORT = 8081


def flink_home() -> Path:
    import pyflink

    return Path(pyflink.__file__).resolve().parent


def _folder(settings: Settings) -> Path:
    return settings.state_dir.resolve() / "flink-cluster"


def cluster_url(port: int = DEFAULT_REST_PORT) -> str:
    return f"http://127.0.0.1:{port}"


def cluster_config(rest_port: int, slots: int) -> str:
    """config.yaml of the cluster: every address is loopback; Python UDFs use this Python."""
    shipped = (flink_home() / "conf" / "config.yaml").read_text()
    java_opts = shipped.split("all:", 1)[1].splitlines()[0].strip()
    return f"""env:
  java:
    opts:
      all: {java_opts}
jobmanager:
  bind-host: 127.0.0.1
  rpc: {{address: 127.0.0.1, port: {rest_port + 42}}}
  memory: {{process: {{size: 1024m}}}}
taskmanager:
  bind-host: 127.0.0.1
  host: 127.0.0.1
  numberOfTaskSlots: {slots}
  memory: {{process: {{size: 2048m}}}}
rest:
  address: 127.0.0.1
  bind-address: 127.0.0.1
  port: {rest_port}
blob: {{server: {{port: "{rest_port + 43}"}}}}
parallelism: {{default: 1}}
python: {{executable: {sys.executable}, client: {{executable: {sys.executable}}}}}
"""


def _environment(settings: Settings) -> dict[str, str]:
    folder = _folder(settings)
    return {
        **os.environ,
        "FLINK_CONF_DIR": str(folder / "conf"),
        "FLINK_LOG_DIR": str(folder / "log"),
        "FLINK_PID_DIR": str(folder),
    }


def _daemon(settings: Settings, script: str, action: str) -> None:
    subprocess.run(
        ["bash", str(flink_home() / "bin" / script), action],
        env=_environment(settings),
        capture_output=True,
        check=False,
        timeout=60,
    )


def start_flink_cluster(
    settings: Settings, rest_port: int = DEFAULT_REST_PORT, slots: int = 2, timeout_s: float = 60
) -> str:
    """Start the cluster (if it is not up) and return its REST URL once it has a TaskManager."""
    url = cluster_url(rest_port)
    if reachable(url):
        return url
    folder = _folder(settings)
    conf = folder / "conf"
    conf.mkdir(parents=True, exist_ok=True)
    (folder / "log").mkdir(exist_ok=True)
    for name in ("log4j.properties", "log4j-console.properties", "log4j-cli.properties"):
        shutil.copy(flink_home() / "conf" / name, conf / name)
    (conf / "config.yaml").write_text(cluster_config(rest_port, slots))
    _daemon(settings, "jobmanager.sh", "start")
    _daemon(settings, "taskmanager.sh", "start")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if task_managers(url) > 0:
            return url
        time.sleep(0.5)
    stop_flink_cluster(settings)
    raise RuntimeStartError(
        f"the Flink cluster did not start within {timeout_s:.0f} s; see {folder / 'log'}"
    )


def stop_flink_cluster(settings: Settings) -> None:
    _daemon(settings, "taskmanager.sh", "stop")
    _daemon(settings, "jobmanager.sh", "stop")
