"""docker-compose.yml: Kafka (KRaft) plus a Flink JobManager and TaskManager, bound to loopback."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

COMPOSE = Path(__file__).resolve().parents[1] / "docker-compose.yml"


def test_compose_file_declares_kafka_and_flink_on_loopback() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    assert {"kafka", "jobmanager", "taskmanager"} <= set(services)
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert services["jobmanager"]["image"].startswith("flink:2.2")
    for service in services.values():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), port


def _compose_client() -> list[str] | None:
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_compose_config_is_valid() -> None:
    client = _compose_client()
    if client is None:
        pytest.skip("no docker compose client on this machine")
    done = subprocess.run(
        [*client, "-f", str(COMPOSE), "config", "--quiet"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


def test_compose_flink_loads_the_pinned_connector() -> None:
    from tidebox.runtime.maven import pom_path

    services = yaml.safe_load(COMPOSE.read_text())["services"]
    pom = pom_path("flink-connectors.xml").read_text()
    version = pom.split("<artifactId>flink-sql-connector-kafka</artifactId>")[1]
    version = version.split("<version>")[1].split("</version>")[0]
    for name in ("jobmanager", "taskmanager"):
        mounts = services[name]["volumes"]
        assert any(f"flink-sql-connector-kafka-{version}.jar:/opt/flink/lib/" in m for m in mounts)
