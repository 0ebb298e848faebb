"""This repository's own sandbox project: its tidebox.yaml, and the examples of producers/ and
sinks/ (the ones ``tidebox init`` writes) run end to end against the session's broker."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import REPO, repo_settings, unique
from tidebox.core.settings import Settings
from tidebox.templates import PROJECT

SHARED = [
    "jobs/device_stats_1m.sql",
    "jobs/device_anomaly_scores.sql",
    "producers/sensors.yaml",
    "sinks/anomalies.yaml",
    "sinks/transforms.py",
    "expectations/sensor_readings.json",
    "expectations/sensor_readings.dqdl",
]


@pytest.mark.parametrize("name", SHARED)
def test_the_repository_holds_the_examples_init_writes(name: str) -> None:
    assert (REPO / name).read_bytes() == (PROJECT / name).read_bytes()


def test_the_repository_is_a_project_with_its_examples_declared() -> None:
    settings = repo_settings()
    assert settings.project_dir == REPO
    devices = next(t for t in settings.tables if t.name == "devices")
    assert Path(devices.location) == REPO / "jobs" / "reference" / "devices.csv"
    sink = settings.sink("anomalies")
    assert sink is not None and sink.processor is not None
    assert sink.processor.function == f"{REPO}/sinks/transforms.py:keep_anomalies"
    job = settings.job("device_stats_by_site")
    assert job is not None and Path(job.file) == REPO / "jobs" / "device_stats_by_site.sql"


@pytest.mark.integration
def test_the_producer_spec_and_the_anomalies_delivery_stream_end_to_end(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    """producers/sensors.yaml's readings replayed into a stream, landed by sinks/anomalies.yaml
    (on that stream): only the labelled anomalies land, as Parquet by anomaly type."""
    from tidebox.delivery.runner import run_sink
    from tidebox.lake.query import run_query
    from tidebox.streams.admin import create_stream
    from tidebox.streams.generate import write_dataset
    from tidebox.streams.producer_spec import find_spec_file, read_generate_spec
    from tidebox.streams.replay import replay

    project = repo_settings()
    data = write_dataset(
        read_generate_spec(find_spec_file(project, "sensors")), tmp_path / "sensors.csv"
    )
    readings = project.stream("sensor_readings")
    example = project.sink("anomalies")
    assert readings is not None and example is not None
    stream = readings.model_copy(update={"name": unique("readings")})
    sink = example.model_copy(update={"name": unique("anomalies"), "stream": stream.name})
    settings = kafka_settings.model_copy(
        update={
            "streams": (*project.streams, stream),
            "sinks": (sink,),
            "bucket": tmp_path / "bucket",
            "state_dir": tmp_path / "state",
        }
    )
    create_stream(settings, stream.name)
    assert replay(settings, [data.path], stream.name).events == data.rows
    result = run_sink(settings, sink.name)
    assert (result.records_in, result.records_out) == (data.rows, data.anomalies)
    assert result.records_dropped == data.rows - data.anomalies
    rows = run_query(
        settings, f'SELECT type, count(*) AS n FROM "{sink.name}" GROUP BY type ORDER BY type'
    ).table.to_pylist()
    assert {r["type"] for r in rows} >= {"level_shift", "drift"}
    assert sum(r["n"] for r in rows) == data.anomalies
