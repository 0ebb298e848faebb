"""Unit tests of tidebox.core.project and its use by load_settings: finding the project,
resolving its relative paths, and the user content of its four folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from tidebox.core.errors import ConfigError
from tidebox.core.project import find_project
from tidebox.core.settings import DEFAULT_JOBS, load_settings

SINK = "stream: sensor_readings\noutput_format: json\n"


def project(tmp_path: Path, config: str = "{}\n", **files: str) -> Path:
    """A project folder with this tidebox.yaml and these files (``sinks__x_yaml`` is
    ``sinks/x.yaml``)."""
    root = tmp_path / "proj"
    root.mkdir()
    (root / "tidebox.yaml").write_text(config)
    for name, text in files.items():
        path = root / name.replace("__", "/").replace("_yaml", ".yaml").replace("_sql", ".sql")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_the_project_is_the_nearest_folder_with_a_tidebox_yaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(tmp_path, "kafka_port: 9555\n")
    deep = root / "jobs" / "more"
    deep.mkdir(parents=True)
    assert find_project(deep) == root.resolve()
    assert find_project(tmp_path) is None
    monkeypatch.chdir(deep)
    settings = load_settings(environ={})
    assert (settings.project_dir, settings.kafka_port) == (root.resolve(), 9555)
    assert settings.state_dir == root.resolve() / ".tidebox"


def test_without_a_tidebox_yaml_the_working_folder_is_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={})
    assert settings.project_dir == tmp_path.resolve()
    assert settings.state_dir == tmp_path.resolve() / ".tidebox"


def test_a_named_config_file_makes_its_folder_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(tmp_path, "state_dir: state\n")
    monkeypatch.chdir(tmp_path)
    for settings in (
        load_settings(config_path=root / "tidebox.yaml", environ={}),
        load_settings(environ={"TIDEBOX_CONFIG": str(root / "tidebox.yaml")}),
    ):
        assert settings.project_dir == root.resolve()
        assert settings.state_dir == root.resolve() / "state"


def test_relative_paths_in_tidebox_yaml_are_relative_to_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(
        tmp_path,
        """
state_dir: var/state
bucket: lake
jobs: [{name: mine, file: jobs/mine.sql}]
tables:
  - {name: local, location: ref/devices.csv}
  - {name: glob, location: "ref/*.parquet"}
  - {name: remote, location: "s3://lake/archive/"}
  - {name: fixed, location: /data/x.csv}
suites: [{name: s, table: t, file: checks/s.json}]
sinks:
  - {name: a, stream: x, destination: out, processor: {function: "sinks/t.py:handler"}}
  - {name: b, stream: x, destination: "s3://b/p", processor: {function: "json:loads"}}
""",
    )
    monkeypatch.chdir(tmp_path)  # not the project: the paths must not follow the working folder
    settings = load_settings(config_path=root / "tidebox.yaml", environ={})
    here = root.resolve()
    assert (settings.state_dir, settings.bucket) == (here / "var/state", here / "lake")
    mine = settings.job("mine")
    assert mine is not None and mine.file == str(here / "jobs/mine.sql")
    locations = {t.name: t.location for t in settings.tables}
    assert locations == {
        "local": str(here / "ref/devices.csv"),
        "glob": str(here / "ref/*.parquet"),
        "remote": "s3://lake/archive/",
        "fixed": "/data/x.csv",
    }
    suite = settings.suite("s")
    assert suite is not None and suite.file == str(here / "checks/s.json")
    a, b = settings.sink("a"), settings.sink("b")
    assert a is not None and a.processor is not None and b is not None and b.processor is not None
    assert (a.destination, a.processor.function) == (
        str(here / "out"),
        f"{here}/sinks/t.py:handler",
    )
    assert (b.destination, b.processor.function) == ("s3://b/p", "json:loads")


def test_precedence_holds_and_only_yaml_paths_follow_the_project(tmp_path: Path) -> None:
    """CLI > environment > tidebox.yaml > defaults, for the project-relative state_dir too:
    a path given on the command line or in the environment keeps the shell's meaning."""
    root = project(tmp_path, "state_dir: from-yaml\n")
    config = root / "tidebox.yaml"
    assert load_settings(config_path=config, environ={}).state_dir == root.resolve() / "from-yaml"
    environ = {"TIDEBOX_STATE_DIR": "from-env"}
    assert load_settings(config_path=config, environ=environ).state_dir == Path("from-env")
    cli = {"state_dir": Path("from-cli")}
    assert load_settings(cli, config_path=config, environ=environ).state_dir == Path("from-cli")


def test_project_dir_cannot_be_set_in_tidebox_yaml(tmp_path: Path) -> None:
    root = project(tmp_path, "project_dir: /elsewhere\n")
    with pytest.raises(ConfigError, match="project_dir is the folder of this file"):
        load_settings(config_path=root / "tidebox.yaml", environ={})


# -- jobs/ ------------------------------------------------------------------------------------


def test_a_job_is_found_by_name_in_the_project_jobs_folder(tmp_path: Path) -> None:
    root = project(tmp_path, jobs__mine_sql="INSERT INTO a SELECT * FROM b;\n")
    (root / "jobs" / "other.py").write_text("def build(env, params): ...\n")
    settings = load_settings(config_path=root / "tidebox.yaml", environ={})
    mine, other = settings.job("mine"), settings.job("other")
    assert mine is not None and Path(mine.file) == root.resolve() / "jobs" / "mine.sql"
    assert other is not None and Path(other.file).suffix == ".py"
    assert settings.job("absent") is None
    assert settings.job("jobs/mine") is None  # names, not paths: a path is run as a path
    from tidebox.flink.loader import resolve_job  # what `tidebox job run NAME` does

    assert resolve_job(settings, "mine") == (Path(mine.file), mine)


def test_the_project_copy_of_a_built_in_job_replaces_it_unless_the_yaml_says(
    tmp_path: Path,
) -> None:
    builtin = DEFAULT_JOBS[0]  # device_stats_1m
    root = project(tmp_path, jobs__device_stats_1m_sql="-- mine\n")
    settings = load_settings(config_path=root / "tidebox.yaml", environ={})
    job = settings.job(builtin.name)
    assert job is not None and Path(job.file) == root.resolve() / "jobs" / "device_stats_1m.sql"
    (root / "tidebox.yaml").write_text(
        "jobs: [{name: device_stats_1m, file: other.sql, parallelism: 3}]\n"
    )
    job = load_settings(config_path=root / "tidebox.yaml", environ={}).job(builtin.name)
    assert job is not None and (Path(job.file).name, job.parallelism) == ("other.sql", 3)


# -- sinks/ -----------------------------------------------------------------------------------


def test_sink_files_are_delivery_streams_named_after_their_file(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        "sinks: [{name: declared, stream: x}]\n",
        sinks__landed_yaml=SINK + "processor: {function: sinks/transforms.py:handler}\n",
        sinks__sensor_readings_yaml="stream: sensor_readings\ncompression: ZSTD\n",
    )
    (root / "sinks" / "transforms.py").write_text("def handler(event, context): ...\n")
    settings = load_settings(config_path=root / "tidebox.yaml", environ={})
    landed = settings.sink("landed")
    assert landed is not None and landed.output_format == "json"
    assert landed.processor is not None
    assert landed.processor.function == f"{root.resolve()}/sinks/transforms.py:handler"
    readings = settings.sink("sensor_readings")  # a file overrides a built-in one's fields
    assert readings is not None and readings.compression == "ZSTD" and readings.prefix
    assert settings.sink("declared") is not None


def test_a_sink_defined_in_a_file_and_in_tidebox_yaml_is_refused(tmp_path: Path) -> None:
    root = project(tmp_path, "sinks: [{name: landed, stream: y}]\n", sinks__landed_yaml=SINK)
    with pytest.raises(ConfigError) as info:
        load_settings(config_path=root / "tidebox.yaml", environ={})
    message = str(info.value)
    assert "'landed' is defined both here and in" in message and "landed.yaml" in message
    assert "\n" not in message


def test_a_sink_file_naming_another_stream_is_refused(tmp_path: Path) -> None:
    root = project(tmp_path, sinks__landed_yaml="name: other\n" + SINK)
    with pytest.raises(ConfigError, match=r"landed\.yaml: defines delivery stream 'other'"):
        load_settings(config_path=root / "tidebox.yaml", environ={})


def test_an_invalid_sink_file_is_named_in_the_error(tmp_path: Path) -> None:
    root = project(tmp_path, sinks__landed_yaml=SINK + "compression: LZ4\n")
    with pytest.raises(ConfigError) as info:
        load_settings(config_path=root / "tidebox.yaml", environ={})
    assert str(info.value).startswith(str(root / "sinks" / "landed.yaml"))
    assert "compression" in str(info.value)
