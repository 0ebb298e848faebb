"""The embedded Kafka broker: one real Apache Kafka 4.x node in KRaft mode on 127.0.0.1.

Its data lives under ``<state>/kafka/data`` and survives ``down``/``up``. The broker runs as
a detached Java process whose pid is kept in ``<state>/kafka/broker.pid``.
"""

from __future__ import annotations

import base64
import os
import shutil
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from tidebox.core.errors import RuntimeStartError
from tidebox.core.settings import Settings
from tidebox.runtime.maven import kafka_broker_jars, pom_path
from tidebox.runtime.processes import running_pid, stop_process

READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0
MAIN_CLASS = "kafka.Kafka"


@dataclass(frozen=True)
class BrokerStatus:
    """What ``tidebox status`` reports about the broker."""

    embedded: bool
    bootstrap_servers: str
    running: bool
    pid: int | None
    data_dir: Path | None


def _home(settings: Settings) -> Path:
    return settings.state_dir / "kafka"


def _pid_file(settings: Settings) -> Path:
    return _home(settings) / "broker.pid"


def _properties(settings: Settings, data_dir: Path) -> str:
    port, controller = settings.kafka_port, settings.kafka_port + 1
    return "\n".join(
        [
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{controller}",
            f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            f"log.dirs={data_dir}",
            "num.partitions=1",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=4",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            "auto.create.topics.enable=false",
            "",
        ]
    )


def _java() -> str:
    java = shutil.which("java")
    if java is None:
        raise RuntimeStartError("java is not on PATH: the embedded Kafka broker needs a JDK 17+")
    return java


def _classpath(settings: Settings) -> str:
    jars = kafka_broker_jars(settings.state_dir)
    return os.pathsep.join(str(j) for j in jars)


def _running_pid(settings: Settings) -> int | None:
    """The pid of our broker if it is alive (and really is a Kafka process), else None."""
    return running_pid(_pid_file(settings), MAIN_CLASS)


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _format_storage(settings: Settings, config: Path, data_dir: Path) -> None:
    if (data_dir / "meta.properties").exists():
        return
    cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
    tool = [_java(), "-cp", _classpath(settings), "kafka.tools.StorageTool"]
    done = subprocess.run(
        [*tool, "format", f"--cluster-id={cluster_id}", "-c", str(config)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeStartError(f"formatting Kafka storage failed: {done.stdout}{done.stderr}")


def _wait_ready(settings: Settings, process: subprocess.Popen[bytes], log: Path) -> None:
    from tidebox.core.clients import make_admin

    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = " | ".join(log.read_text(errors="replace").splitlines()[-5:])
            raise RuntimeStartError(f"the Kafka broker exited during start-up: {tail}")
        if _port_open(settings.kafka_port):
            try:
                admin = make_admin(settings)
                admin.list_topics()
                admin.close()
                return
            except Exception:  # not ready yet: keep polling until the deadline
                pass
        time.sleep(0.3)
    raise RuntimeStartError(f"the Kafka broker did not answer within {READY_TIMEOUT_S:.0f} s")


def start_broker(settings: Settings) -> BrokerStatus:
    """Start the embedded broker (fetching its jars first if needed) and wait until it answers."""
    if _running_pid(settings) is not None:
        return broker_status(settings)
    if _port_open(settings.kafka_port) or _port_open(settings.kafka_port + 1):
        raise RuntimeStartError(
            f"port {settings.kafka_port} or {settings.kafka_port + 1} on 127.0.0.1 is taken by "
            "another program: set kafka_port / TIDEBOX_KAFKA_PORT, or point "
            "bootstrap_servers at that Kafka"
        )
    home = _home(settings).resolve()
    data_dir = home / "data"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "server.properties"
    config.write_text(_properties(settings, data_dir))
    _format_storage(settings, config, data_dir)

    log = home / "broker.log"
    command = [
        _java(),
        "-Xms256m",
        "-Xmx1g",
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={pom_path('log4j2.properties')}",
        f"-Dtidebox.log.file={log}",
        "-cp",
        _classpath(settings),
        MAIN_CLASS,
        str(config),
    ]
    with open(home / "broker.out", "ab") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=home
        )
    _pid_file(settings).write_text(f"{process.pid}\n")
    try:
        _wait_ready(settings, process, log)
    except RuntimeStartError:
        stop_broker(settings)
        raise
    return broker_status(settings)


def stop_broker(settings: Settings) -> bool:
    """Stop the embedded broker cleanly (SIGTERM, then SIGKILL after a timeout).

    Returns False when no broker of ours was running.
    """
    pid = _running_pid(settings)
    _pid_file(settings).unlink(missing_ok=True)
    if pid is None:
        return False
    stop_process(pid, STOP_TIMEOUT_S)
    return True


def broker_status(settings: Settings) -> BrokerStatus:
    if not settings.embedded:
        host, _, port = settings.kafka_bootstrap.split(",")[0].rpartition(":")
        reachable = _host_port_open(host, int(port or 9092))
        return BrokerStatus(False, settings.kafka_bootstrap, reachable, None, None)
    pid = _running_pid(settings)
    running = pid is not None and _port_open(settings.kafka_port)
    return BrokerStatus(True, settings.kafka_bootstrap, running, pid, _home(settings) / "data")


def _host_port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host or "127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False
