"""Fetch jars from Maven Central once, with the user's own Maven, and cache them per project."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from importlib import resources
from pathlib import Path

from tidebox.core.errors import RuntimeStartError

MARKER = ".fetched-from"


def pom_path(name: str) -> Path:
    """A pom shipped inside the tidebox.runtime package (kafka-broker.xml, flink-connectors.xml)."""
    return Path(str(resources.files("tidebox.runtime").joinpath(name)))


def fetch_jars(pom_name: str, dest: Path, transitive: bool = True) -> list[Path]:
    """The jars a pom depends on, fetched into ``dest`` unless that pom's jars are already there.

    The cache is keyed by the pom's content: changing a pinned version refetches. Jars land in
    a temporary folder first and are renamed into place, so an interrupted fetch never leaves
    a half-filled cache behind.
    """
    dest = dest.resolve()  # Maven resolves relative paths against the pom's folder, not ours
    pom = pom_path(pom_name)
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()[:16]
    marker = dest / MARKER
    if marker.exists() and marker.read_text().strip() == digest:
        return sorted(dest.glob("*.jar"))

    mvn = shutil.which("mvn")
    if mvn is None:
        raise RuntimeStartError(
            "Maven (mvn) is not on PATH: it is needed once to fetch the Kafka and Flink jars"
        )
    staging = dest.with_name(dest.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    command = [
        mvn,
        "-q",
        "-B",
        "-f",
        str(pom),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={staging}",
        "-DincludeScope=runtime",
        f"-DexcludeTransitive={'false' if transitive else 'true'}",
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not list(staging.glob("*.jar")):
        tail = " | ".join((done.stdout + done.stderr).strip().splitlines()[-3:])
        raise RuntimeStartError(f"Maven could not fetch the jars of {pom_name}: {tail}")
    shutil.rmtree(dest, ignore_errors=True)
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging.rename(dest)
    (dest / MARKER).write_text(digest + "\n")
    return sorted(dest.glob("*.jar"))


def kafka_broker_jars(state_dir: Path) -> list[Path]:
    return fetch_jars("kafka-broker.xml", state_dir / "jars" / "kafka")


def flink_connector_jars(state_dir: Path) -> list[Path]:
    return fetch_jars("flink-connectors.xml", state_dir / "jars" / "flink", transitive=False)
