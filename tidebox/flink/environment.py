"""The Flink table environment a job runs in: local mini-cluster or remote cluster, checkpoints.

PyFlink starts one JVM per Python process; every job run in the process reuses it, which is
why tests run jobs in-process and share that start-up cost.
"""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tidebox.core.errors import JobError
from tidebox.core.settings import Settings
from tidebox.flink.loopback import bind_loopback_server_to_localhost
from tidebox.flink.snapshots import checkpoint_dir, savepoint_dir
from tidebox.runtime.maven import flink_connector_jars

# Every server the local mini-cluster opens (RPC, blob server, REST) listens on loopback only.
LOCALHOST_OPTIONS = (
    "jobmanager.bind-host",
    "taskmanager.bind-host",
    "taskmanager.host",
    "rest.bind-address",
    "rest.address",
)
# Session settings every job runs with, locally or (through ``render_job_sql``) on a cluster.
JOB_OPTIONS = {"table.local-time-zone": "UTC"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cluster_address(url: str) -> tuple[str, int]:
    """Host and port of a Flink REST URL such as ``http://127.0.0.1:8081``."""
    parts = urlsplit(url if "//" in url else f"http://{url}")
    if not parts.hostname:
        raise JobError(url, "not a Flink REST URL (expected http://HOST:PORT)")
    return parts.hostname, parts.port or 8081


def make_table_env(
    settings: Settings, job_name: str, parallelism: int, cluster: str | None = None
) -> tuple[Any, str]:
    """A streaming table environment and the REST URL that will control its jobs.

    Without ``cluster`` jobs run on a local mini-cluster whose REST endpoint listens on a free
    loopback port; with it they are submitted to that cluster, jars included.
    """
    # Beam (under PyFlink's DataStream API) warns on import about cloud file systems it lacks
    logging.getLogger("apache_beam.io.filesystems").setLevel(logging.ERROR)
    from pyflink.common import Configuration
    from pyflink.datastream import StreamExecutionEnvironment
    from pyflink.table import StreamTableEnvironment

    bind_loopback_server_to_localhost()
    jars = ";".join(p.resolve().as_uri() for p in flink_connector_jars(settings.state_dir))
    options = {
        "pipeline.jars": jars,
        "pipeline.name": job_name,
        "parallelism.default": str(parallelism),
    }
    if cluster:
        host, port = cluster_address(cluster)
        options.update({"execution.target": "remote", "rest.address": host, "rest.port": str(port)})
        url = f"http://{host}:{port}"
    else:
        port = free_port()
        options.update({option: "127.0.0.1" for option in LOCALHOST_OPTIONS})
        options.update({"rest.bind-port": str(port), "rest.port": str(port)})
        url = f"http://127.0.0.1:{port}"
    config = Configuration()
    for key, value in options.items():
        config.set_string(key, value)
    # a stream table environment, so that Python jobs can go to the DataStream API and back
    env = StreamTableEnvironment.create(
        StreamExecutionEnvironment.get_execution_environment(config)
    )
    for key, value in options.items():
        env.get_config().set(key, value)
    return env, url


def checkpoint_options(
    settings: Settings, job: str, interval_s: float, restore: Path | None
) -> dict[str, str]:
    """Checkpoint every ``interval_s`` into the state folder, kept when the job is cancelled
    or killed, and resume from ``restore`` (a checkpoint or savepoint folder) if given."""
    options = {
        "execution.checkpointing.interval": f"{round(interval_s * 1000)} ms",
        "execution.checkpointing.dir": checkpoint_dir(settings, job).as_uri(),
        "execution.checkpointing.savepoint-dir": savepoint_dir(settings, job).as_uri(),
        "execution.checkpointing.externalized-checkpoint-retention": "RETAIN_ON_CANCELLATION",
        # a failing job fails the run instead of restarting forever, as it would by default
        "restart-strategy.type": "fixed-delay",
        "restart-strategy.fixed-delay.attempts": "1",
        "restart-strategy.fixed-delay.delay": "1 s",
    }
    if restore is not None:
        options["execution.state-recovery.path"] = restore.as_uri()
    return options
