"""The built wheel holds the ``tidebox`` package alone, and works installed (not editable) in a
fresh venv: ``tidebox init`` in an empty folder, then the demo, ``status`` and ``query`` there.

The wheel's demo runs on a broker of its own (a free port), stopped in the end whatever happens.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support import REPO, cli_env, free_port_pair
from tidebox.templates import PROJECT

UV = Path(sys.executable).parent / "uv"


def run(
    args: list[str | Path], cwd: Path, env: dict[str, str] | None = None, timeout: int = 300
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from an sdist as a release is (no stale build/ folder gets in)."""
    if not UV.exists():
        pytest.skip("uv is not installed in this venv (make install puts it there)")
    dist = tmp_path_factory.mktemp("dist")
    run([UV, "build", "--quiet", "--out-dir", dist, REPO], REPO, timeout=600)
    [built] = dist.glob("tidebox-*.whl")
    return built


@pytest.mark.slow
def test_the_wheel_holds_tidebox_alone_with_its_templates(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names}
    assert {t for t in top if not t.endswith(".dist-info")} == {"tidebox"}
    assert len(top) == 2  # and its dist-info: no jobs, sinks, producers, expectations, tests
    templates = {p.relative_to(PROJECT).as_posix() for p in PROJECT.rglob("*") if p.is_file()}
    templates = {t for t in templates if "__pycache__" not in t}
    packed = {n.split("templates/project/", 1)[1] for n in names if "templates/project/" in n}
    assert packed == templates
    assert "tidebox/runtime/kafka-broker.xml" in names
    java = {n for n in names if n.startswith("tidebox/java/")}
    assert "tidebox/java/io/tidebox/anomaly/RandomCutForest.java" in java  # the forest's port
    assert all(n.endswith(".java") for n in java)  # sources only, never build output
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "tidebox = tidebox.cli.app:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def project_block() -> str:
    """The README's block for a project of one's own."""
    readme = (REPO / "README.md").read_text()
    section = readme.split("## A project of your own\n", 1)[1].split("\n## ", 1)[0]
    [block] = re.findall(r"```bash\n(.*?)```", section, re.S)
    return str(block)


@pytest.mark.integration
@pytest.mark.flink
@pytest.mark.slow
def test_the_readme_project_block_runs_from_the_installed_wheel(
    wheel: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    run([UV, "venv", "--quiet", "--python", sys.executable, venv], tmp_path)
    run([UV, "pip", "install", "--quiet", "--python", venv / "bin" / "python", wheel], tmp_path)
    tidebox = venv / "bin" / "tidebox"
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in cli_env().items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env |= {
        "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        "TIDEBOX_KAFKA_PORT": str(free_port_pair()),
    }
    project = empty / "mylake"
    block = project_block()
    assert block.startswith("tidebox init mylake && cd mylake\n")
    try:
        # the block as a shell runs it, each line checked, with the wheel's tidebox on PATH
        done = run(["bash", "-e", "-c", block], empty, env, timeout=900)
        where = run(
            [venv / "bin" / "python", "-c", "import tidebox; print(tidebox.__file__)"], project
        )
        assert where.stdout.startswith(str(venv))  # the installed package, not this checkout
        assert "events replayed   43,200" in done.stdout  # 20 devices x 6 h every 10 s
        assert "windows computed  7,200" in done.stdout  # 20 devices x 360 minutes
        checks = re.search(r"checks passed\s+(\d+)/(\d+)", done.stdout)
        assert checks is not None and checks.group(1) == checks.group(2)
        kept = re.search(
            r"delivered ([\d,]+) of 43,200 .* ([\d,]+) dropped by the transform", done.stdout
        )
        assert kept is not None, done.stdout  # the project's transform, loaded by path
        assert sum(int(n.replace(",", "")) for n in kept.groups()) == 43_200
        kinds = {"spike", "level_shift", "drift", "stuck"}
        assert {kind for kind in kinds if kind in done.stdout} == kinds  # the query's rows

        run([tidebox, "up"], project, env)
        status = run([tidebox, "status"], project / "jobs", env)  # found from a subfolder
        assert "running" in status.stdout and "sensor_readings: parquet" in status.stdout
        query = "SELECT count(*) AS n FROM sensor_readings"
        counted = run([tidebox, "query", query, "--format", "csv"], project, env)
        assert counted.stdout.splitlines() == ["n", "43200"]
    finally:
        subprocess.run([tidebox, "down"], cwd=project, env=env, capture_output=True, timeout=120)
