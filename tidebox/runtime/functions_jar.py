"""Build tidebox's own Flink classes (RANDOM_CUT_FOREST, the Kinesis sink partitioner) into a
jar, once per source change.

The Java sources ship inside the package (``tidebox/java``); they are compiled with the
machine's ``javac`` against the Flink jars PyFlink itself ships and the Kafka SQL connector jobs
load (``KinesisPartitioner`` implements the connector's partitioner interface), so the jar
always matches the installed Flink and connector. The connector comes from the state folder's
jar cache, which every job fills anyway. The jar is cached in the state folder under a digest of
the sources, the PyFlink version and the connector jars' names: editing a source, or pinning
another connector, rebuilds it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from importlib import metadata, resources
from pathlib import Path

from tidebox.core.errors import RuntimeStartError
from tidebox.runtime.maven import flink_connector_jars

JAR_NAME = "tidebox-functions.jar"
MARKER = ".built-from"


def java_sources() -> list[Path]:
    """Every Java source shipped with tidebox, in a stable order."""
    root = Path(str(resources.files("tidebox").joinpath("java")))
    return sorted(root.rglob("*.java"))


def pyflink_lib() -> Path:
    """The folder of jars PyFlink ships (Flink's own API and runtime)."""
    import pyflink

    return Path(pyflink.__file__).resolve().parent / "lib"


def _digest(sources: list[Path], connectors: list[Path]) -> str:
    digest = hashlib.sha256(metadata.version("apache-flink").encode())
    for source in sources:
        digest.update(source.name.encode())
        digest.update(source.read_bytes())
    for jar in connectors:  # a pinned version is in the name: Maven names jars by it
        digest.update(jar.name.encode())
    return digest.hexdigest()[:16]


def functions_jar(state_dir: Path) -> Path:
    """The jar of tidebox's Flink functions and partitioner, compiled now unless the cached one
    is current (fetching the connector jars first if the state folder has none)."""
    dest = (state_dir / "jars" / "tidebox").resolve()
    sources = java_sources()
    connectors = flink_connector_jars(state_dir)
    digest = _digest(sources, connectors)
    marker = dest / MARKER
    jar = dest / JAR_NAME
    if jar.is_file() and marker.is_file() and marker.read_text().strip() == digest:
        return jar
    javac, jar_tool = shutil.which("javac"), shutil.which("jar")
    if javac is None or jar_tool is None:
        raise RuntimeStartError(
            "a JDK's javac and jar are not on PATH: they build tidebox's Flink functions "
            "(RANDOM_CUT_FOREST) and sink partitioner once"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tidebox-functions-", dir=dest.parent))
    classes = staging / "classes"
    classes.mkdir()
    compile_command = [
        javac,
        "--release",
        "17",
        "-nowarn",
        "-encoding",
        "UTF-8",
        "-cp",
        os.pathsep.join([str(pyflink_lib() / "*"), *(str(jar.resolve()) for jar in connectors)]),
        "-d",
        str(classes),
        *map(str, sources),
    ]
    done = subprocess.run(compile_command, capture_output=True, text=True, check=False)
    if done.returncode == 0:
        done = subprocess.run(
            [jar_tool, "cf", str(staging / JAR_NAME), "-C", str(classes), "."],
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        tail = " | ".join((done.stdout + done.stderr).strip().splitlines()[-3:])
        raise RuntimeStartError(f"could not build tidebox's Flink functions: {tail}")
    shutil.rmtree(classes)
    (staging / MARKER).write_text(digest + "\n")
    _install(staging, dest, digest)
    return jar


def _install(staging: Path, dest: Path, digest: str) -> None:
    """Move a finished build into place; a process that got there first wins."""
    marker = dest / MARKER
    try:
        shutil.rmtree(dest, ignore_errors=True)
        staging.rename(dest)
    except OSError:
        if not (marker.is_file() and marker.read_text().strip() == digest):
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
