"""A real standalone Flink cluster on loopback, and the same job file submitted to it."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobs.rest import list_jobs, reachable
from producers.generate import GenerateSpec, write_dataset
from producers.replay import replay
from tests.conftest import cli_env, run_cli
from tests.jobs.test_runner import isolated_job
from tidebox.config import Settings
from tidebox.runtime.flink_cluster import start_flink_cluster, stop_flink_cluster

pytestmark = [pytest.mark.integration, pytest.mark.flink, pytest.mark.slow]


def free_port_block(size: int = 50) -> int:
    """A port p with p .. p + size free: the cluster uses p (REST), p + 42 and p + 43."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port + size >= 65535:
            continue
        try:
            for offset in (42, 43):
                with socket.socket() as other:
                    other.bind(("127.0.0.1", port + offset))
        except OSError:
            continue
        return port
    raise RuntimeError("no free ports")


@pytest.fixture(scope="module")
def cluster(kafka_settings: Settings) -> Iterator[str]:
    url = start_flink_cluster(kafka_settings, free_port_block())
    try:
        yield url
    finally:
        stop_flink_cluster(kafka_settings)
    assert not reachable(url)


def test_the_same_job_file_runs_on_a_flink_cluster(
    kafka_settings: Settings, cluster: str, tmp_path: Path
) -> None:
    settings, job, source, sink = isolated_job(kafka_settings, tmp_path)
    (tmp_path / "tidebox.yaml").write_text(
        "streams:\n"
        + "".join(f"  - {settings.stream(n).model_dump_json()}\n" for n in (source, sink))  # type: ignore[union-attr]
    )
    data = write_dataset(GenerateSpec(devices=3, hours=0.5, seed=2), tmp_path / "in.csv")
    replay(settings, [data.path], source)

    ran = run_cli(["job", "run", str(job), "--cluster", cluster], tmp_path, cli_env(settings))

    assert ran.returncode == 0, ran.stderr
    assert "finished in" in ran.stdout and f"{3 * 30:,} records to {sink}" in ran.stdout
    assert [(j["name"], j["state"]) for j in list_jobs(cluster)] == [("job", "FINISHED")]
