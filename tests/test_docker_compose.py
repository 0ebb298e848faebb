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
