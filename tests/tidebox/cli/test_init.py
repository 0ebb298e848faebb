"""``tidebox init``: a new sandbox project whose every example works, and nothing overwritten."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import run_cli
from tests.tidebox.cli.test_app import assert_one_clear_line
from tidebox.cli.init import NEXT_STEPS
from tidebox.core.errors import ProjectExistsError
from tidebox.core.scaffold import write_project
from tidebox.core.settings import load_settings

EXPECTED = {
    ".gitignore",
    "tidebox.yaml",
    "jobs/device_stats_1m.sql",
    "jobs/device_anomaly_scores.sql",
    "producers/sensors.yaml",
    "sinks/anomalies.yaml",
    "sinks/transforms.py",
    "expectations/sensor_readings.json",
    "expectations/sensor_readings.dqdl",
}


@pytest.fixture
def written(tmp_path: Path) -> Path:
    folder = tmp_path / "new" / "project"
    project = write_project(folder)
    assert project.folder == folder
    return folder


def test_init_writes_the_yaml_the_gitignore_and_examples_in_every_folder(written: Path) -> None:
    files = {str(p.relative_to(written)) for p in written.rglob("*") if p.is_file()}
    assert files == EXPECTED
    assert ".tidebox/" in (written / ".gitignore").read_text().splitlines()


def test_init_overwrites_nothing(tmp_path: Path, written: Path) -> None:
    (written / "sinks" / "transforms.py").write_text("# mine\n")
    (written / "tidebox.yaml").unlink()
    with pytest.raises(ProjectExistsError, match=r"already exists \(and 7 other file"):
        write_project(written)
    assert not (written / "tidebox.yaml").exists()  # refused before writing anything
    assert (written / "sinks" / "transforms.py").read_text() == "# mine\n"
    afile = tmp_path / "a-file"
    afile.write_text("")
    with pytest.raises(ProjectExistsError):
        write_project(afile)


def test_the_command_prints_what_it_wrote_and_what_to_run_next(tmp_path: Path) -> None:
    done = run_cli(["init", "fresh"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "sinks/anomalies.yaml" in done.stdout and "cd fresh" in done.stdout
    assert all(command in done.stdout for command in NEXT_STEPS)
    again = run_cli(["init", "fresh"], tmp_path)
    assert_one_clear_line(again, "already exists")


def test_init_needs_no_valid_settings_where_it_runs(tmp_path: Path) -> None:
    (tmp_path / "tidebox.yaml").write_text("kafka_port: [\n")
    assert run_cli(["init", "inner"], tmp_path).returncode == 0


# -- the examples work -------------------------------------------------------------------------


def test_the_commented_yaml_is_a_valid_config_of_the_project(written: Path) -> None:
    settings = load_settings(config_path=written / "tidebox.yaml", environ={})
    assert settings.project_dir == written.resolve()
    job = settings.job("device_stats_1m")  # the project's copy, not the packaged one
    assert job is not None and Path(job.file) == written.resolve() / "jobs/device_stats_1m.sql"


def test_the_delivery_stream_example_parses_and_its_transform_keeps_anomalies(
    written: Path,
) -> None:
    from tidebox.delivery.transform import Transformer

    sink = load_settings(config_path=written / "tidebox.yaml", environ={}).sink("anomalies")
    assert sink is not None and sink.stream == "sensor_readings" and sink.processor is not None
    transform = Transformer(sink.processor.function, sink.name)
    readings = [
        {"device_id": "a", "is_anomaly": False},
        {"device_id": "b", "is_anomaly": True, "anomaly_type": "spike"},
    ]
    values = [json.dumps(r).encode() for r in readings] + [b"not json"]
    outcomes = transform.transform(values, [0, 0, 0])
    assert [o.result for o in outcomes] == ["Dropped", "Ok", "ProcessingFailed"]
    assert json.loads(outcomes[1].data) == readings[1]
    assert outcomes[1].partition_keys == {"type": "spike"}


def test_the_suite_example_loads(written: Path) -> None:
    from tidebox.quality.landed import find_suite
    from tidebox.quality.suites import load_suite

    settings = load_settings(config_path=written / "tidebox.yaml", environ={})
    path = find_suite(settings, "sensor_readings")
    assert path == written.resolve() / "expectations" / "sensor_readings.json"
    assert load_suite(path).expectations


def test_the_producer_example_generates_through_the_command(written: Path) -> None:
    done = run_cli(["generate", "--spec", "sensors", "--out", "data/s.csv"], written / "jobs")
    assert done.returncode == 0, done.stderr
    assert "wrote 1,800 readings of 5 devices" in done.stdout  # 5 devices x 1 h every 10 s
    assert (written / "jobs" / "data" / "s.csv").is_file()  # --out: the shell's meaning


def test_the_job_example_plans_against_the_built_in_streams(written: Path) -> None:
    """It reads sensor_readings and writes device_stats_1m. It is the demo's own job, which
    tests/tidebox/flink/test_harness.py runs on the mini-cluster."""
    from tidebox.flink.ddl import plan_job
    from tidebox.templates import DEMO_JOB

    settings = load_settings(config_path=written / "tidebox.yaml", environ={})
    job = settings.job("device_stats_1m")
    assert job is not None
    text = Path(job.file).read_text()
    assert text == DEMO_JOB.read_text()
    plan = plan_job(text, settings)
    assert [s.name for s in plan.sources] == ["sensor_readings"]
    assert [s.name for s in plan.sinks] == ["device_stats_1m"] and not plan.undeclared_sinks
