"""What README.md shows users is run here: quickstart, tour, Python and YAML examples."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import TEST_STATE, TIDEBOX, cli_env, free_port_pair
from tidebox.core.settings import Settings, load_settings

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, re.S)


def section(title: str) -> str:
    return README.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def run_line(line: str, cwd: Path, env: dict[str, str]) -> str:
    """One README command line, as a shell runs it, with this venv's tidebox; its stdout.
    It must succeed."""
    done = subprocess.run(
        line.replace("tidebox", TIDEBOX, 1),
        shell=True,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_quickstart_is_two_make_commands_and_ci_runs_the_second() -> None:
    quickstart = re.findall(r"```bash\n(.*?)```", section("Quickstart"), re.S)[0]
    commands = [line.split("#")[0].strip() for line in quickstart.strip().splitlines()]
    assert commands == ["make demo", "make test"]
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^demo: install .*\n\t\$\(BIN\)/tidebox demo$", makefile, re.M)
    assert re.search(r"^test: install .*\n\t\$\(BIN\)/python -m pytest$", makefile, re.M)
    assert re.search(r"^help:", makefile, re.M)
    ci = [ln for ln in (REPO / ".ci" / "run").read_text().splitlines() if ln and ln[0] != "#"]
    assert ci[-1] == "make test"


def test_yaml_example_is_a_valid_config(tmp_path: Path) -> None:
    [example] = [block for block in blocks("yaml") if "machine_events" in block]
    config = tmp_path / "tidebox.yaml"
    config.write_text(example)
    settings = load_settings(config_path=config, environ={})
    events = settings.stream("machine_events")
    assert events is not None and events.columns["rpm"] == "DOUBLE"
    readings = settings.stream("sensor_readings")
    assert readings is not None and readings.shards == 4 and readings.columns
    job = settings.job("machine_rpm_1m")
    assert job is not None and job.parallelism == 2
    assert settings.job("device_stats_1m") is not None  # built-ins stay
    sink = settings.sink("machine_events")
    assert sink is not None and sink.stream == "machine_events"
    assert sink.buffering_hints.interval_in_seconds == 30 and sink.compression == "ZSTD"
    assert sink.dynamic_partitioning is not None
    assert {t.name for t in settings.tables} == {"sites", "archive"}


def test_environment_table_names_every_variable() -> None:
    from tidebox.core.settings import ENV_FIELDS

    for suffix in [*ENV_FIELDS, "CONFIG"]:
        assert f"`TIDEBOX_{suffix}`" in section("Configuration")


@pytest.mark.integration
@pytest.mark.flink
@pytest.mark.slow
def test_the_tour_runs_as_written(tmp_path: Path) -> None:
    """Each tour command, in order, on a broker of its own started by the tour's `tidebox up`."""
    tour = re.findall(r"```bash\n(.*?)```", section("A tour, command by command"), re.S)[0]
    state = tmp_path / "state"
    state.mkdir()
    (state / "jars").symlink_to(TEST_STATE / "jars")
    (tmp_path / "jobs").symlink_to(REPO / "jobs")
    env = cli_env(TIDEBOX_STATE_DIR=str(state), TIDEBOX_KAFKA_PORT=str(free_port_pair()))
    outputs = {}
    try:
        for line in tour.strip().splitlines():
            assert line.startswith("tidebox "), line
            outputs[line.split()[1]] = run_line(line, tmp_path, env)
        assert outputs["query"].count("dev-00") == 5
        assert "FAIL" not in outputs["check"]

        [python] = blocks("python")
        done = subprocess.run(
            [sys.executable, "-c", python], cwd=tmp_path, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        assert "1800" in done.stdout  # 5 devices x 1 h x one reading per 10 s
    finally:
        subprocess.run([TIDEBOX, "down"], cwd=tmp_path, env=env, capture_output=True)


def test_the_kda_translate_block_runs_as_written() -> None:
    """`job translate` of the shipped KDA application, in this repository's project."""
    text = section("The stages").split("**Kinesis Data Analytics SQL applications.**", 1)[1]
    [line] = re.findall(r"```bash\n(.*?)```", text, re.S)[0].strip().splitlines()
    printed = run_line(line, REPO, cli_env())
    assert "CREATE TEMPORARY VIEW `SOURCE_SQL_STREAM_001` AS" in printed
    assert "TABLE(TUMBLE(TABLE `SOURCE_SQL_STREAM_001`, DESCRIPTOR(`ROWTIME`)" in printed
    assert "INSERT INTO `destination_sql_stream`" in printed


@pytest.mark.integration
@pytest.mark.flink
@pytest.mark.slow
def test_the_cluster_block_runs_as_written(tmp_path: Path) -> None:
    """`flink up`, `job run --cluster`, `flink down`, on a broker and a cluster of their own."""
    from tests.tidebox.runtime.test_flink_cluster import free_port_block

    text = section("The stages").split("**On a Flink cluster.**", 1)[1]
    block = re.findall(r"```bash\n(.*?)```", text, re.S)[0]
    port = str(free_port_block())
    state = tmp_path / "state"
    state.mkdir()
    (state / "jars").symlink_to(TEST_STATE / "jars")
    (tmp_path / "jobs").symlink_to(REPO / "jobs")
    env = cli_env(TIDEBOX_STATE_DIR=str(state), TIDEBOX_KAFKA_PORT=str(free_port_pair()))
    setup = [
        "tidebox up",
        "tidebox generate --devices 2 --hours 0.5 --out data.csv",
        "tidebox replay data.csv --stream sensor_readings",
    ]
    lines = setup + [ln.replace("8091", port) for ln in block.strip().splitlines()]
    # 2 devices x 30 minutes: 60 one-minute windows; 360 readings, each scored
    written = {"device_stats_1m": 60, "device_anomaly_scores": 360}
    ran: list[str] = []
    try:
        for line in lines:
            if line.startswith("tidebox flink down"):
                from tidebox.runtime.flink_rest import list_jobs

                cluster = f"http://127.0.0.1:{port}"
                jobs = sorted((j["name"], j["state"]) for j in list_jobs(cluster))
                assert jobs == [(name, "FINISHED") for name in sorted(ran)]
            stdout = run_line(line, tmp_path, env)
            if "--cluster" in line:
                ran.append(Path(line.split()[3]).stem)
                assert f"{written[ran[-1]]} records to {ran[-1]}" in stdout, stdout
        assert sorted(ran) == sorted(written)
    finally:
        subprocess.run([TIDEBOX, "flink", "down"], cwd=tmp_path, env=env, capture_output=True)
        subprocess.run([TIDEBOX, "down"], cwd=tmp_path, env=env, capture_output=True)


@pytest.mark.integration
def test_the_delivery_stream_block_runs_as_written(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    """The sink block, in order, on the session broker with a stream of its own."""
    from tests.support import land_readings_stream

    text = section("The stages").split("**Nothing lost, nothing doubled.**", 1)[1]
    block = re.findall(r"```bash\n(.*?)```", text, re.S)[0]
    stream = land_readings_stream(kafka_settings, tmp_path, devices=3)
    env = cli_env(kafka_settings, TIDEBOX_STATE_DIR=str(tmp_path / "state"))
    outputs = {}
    for line in block.replace("\\\n", " ").strip().splitlines():
        command = line.split("  #")[0].replace("sensor_readings", stream)
        outputs[line.split()[2]] = run_line(command, tmp_path, env)
    assert "delivered 360 of 360 records" in outputs["run"]
    assert "objects" in outputs["status"] and "360" in outputs["status"]
    assert not list((kafka_settings.bucket_path / "by_device").rglob("*.parquet"))  # dropped


def test_the_catalog_and_athena_blocks_run_as_written(tmp_path: Path, s3_endpoint: str) -> None:
    """The catalog commands on a month of hourly files, then the CTAS and UNLOAD statements
    (CTAS onto a real S3 server's bucket ``lake``)."""
    from tests.support import make_bucket, month_of_readings
    from tidebox.lake.query import run_query

    text = section("The stages").split("**Catalog (Glue).**", 1)[1]
    commands = re.findall(r"```bash\n(.*?)```", text, re.S)[0]
    month_of_readings(tmp_path / "bucket" / "lake" / "readings", days=16, rows=10)
    env = cli_env(
        TIDEBOX_STATE_DIR=str(tmp_path / "state"),
        TIDEBOX_BUCKET=str(tmp_path / "bucket"),
        TIDEBOX_S3_ENDPOINT=s3_endpoint,
    )
    for line in commands.strip().splitlines():
        command = line.split("  #")[0].strip()
        if command.startswith("tidebox catalog drop"):
            continue  # run last, after the SQL block needs the table
        run_line(command, tmp_path, env)
    make_bucket(s3_endpoint, "lake")
    settings = Settings(
        state_dir=tmp_path / "state", bucket=tmp_path / "bucket", s3_endpoint=s3_endpoint
    )
    sql = re.findall(r"```sql\n(.*?)```", text, re.S)[0]
    for statement in [s for s in sql.split(";") if s.strip()]:
        run_query(settings, statement)
    daily = run_query(settings, "SELECT count(*) AS n, count(DISTINCT dt) AS days FROM daily")
    assert daily.table.to_pylist() == [{"n": 160, "days": 16}]
    assert len(list((tmp_path / "bucket" / "exports" / "day15").iterdir())) == 1
    dropped = subprocess.run(
        [TIDEBOX, "catalog", "drop", "readings"], cwd=tmp_path, env=env, capture_output=True
    )
    assert dropped.returncode == 0


@pytest.mark.integration
@pytest.mark.flink
@pytest.mark.slow
def test_the_own_stream_block_scores_a_new_stream_without_python(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    """The pumps example as written: its tidebox.yaml, its SQL job and its three commands, on
    the session broker; the scores are each pump's offline forest's, bit for bit."""
    import json

    import numpy as np
    import pandas as pd

    from tests.support import read_stream, unique
    from tidebox.anomaly.forest import RandomCutForest
    from tidebox.anomaly.scoring import params_for, thresholder_for

    text = section("The stages").split("**Your own stream.**", 1)[1]
    config = re.findall(r"```yaml\n(.*?)```", text, re.S)[0]
    sql = re.findall(r"```sql\n(.*?)```", text, re.S)[0]
    commands = re.findall(r"```bash\n(.*?)```", text, re.S)[0]
    stream, output = unique("pumps"), unique("pump_anomalies")
    (tmp_path / "tidebox.yaml").write_text(config.replace("name: pumps", f"name: {stream}"))
    (tmp_path / "jobs").mkdir()
    job = sql.replace("TABLE pumps", f"TABLE {stream}").replace("pump_anomalies", output)
    (tmp_path / "jobs" / "pump_anomalies.sql").write_text(job)
    rng = np.random.default_rng(8)
    frames = []
    for pump in ("p-1", "p-2"):
        flow = 40 + np.cumsum(rng.normal(0, 0.3, 400))
        flow[330] += 25  # a burst the forest should notice
        start = pd.Timestamp("2024-05-01", tz="UTC")
        frames.append(
            pd.DataFrame(
                {
                    "pump_id": pump,
                    "read_at": start + pd.to_timedelta(np.arange(400), unit="s"),
                    "flow": flow,
                    "rpm": rng.integers(1400, 1500, 400),
                    "site": "north",
                }
            )
        )
    readings = pd.concat(frames)
    readings.to_csv(tmp_path / "pumps.csv", index=False)
    state = tmp_path / "state"
    state.mkdir()
    (state / "jars").symlink_to(TEST_STATE / "jars")
    env = cli_env(kafka_settings, TIDEBOX_STATE_DIR=str(state))
    for line in commands.strip().splitlines():
        line = line.replace("create pumps", f"create {stream}")
        run_line(line.replace("--stream pumps", f"--stream {stream}"), tmp_path, env)

    rows = [json.loads(record.value) for record in read_stream(kafka_settings, output)]
    assert len(rows) == 800
    params = params_for("tuned", 2)  # flow and rpm (site is text, pump_id the key); the preset
    for pump, group in readings.groupby("pump_id"):
        scores, _, _ = RandomCutForest(params).score_and_update(
            group[["flow", "rpm"]].to_numpy(dtype=float)
        )
        grading = thresholder_for("tuned", params)
        got = sorted((r for r in rows if r["pump_id"] == pump), key=lambda r: r["read_at"])
        assert [r["score"] for r in got] == scores.tolist()
        assert [r["grade"] for r in got] == [grading.grade_and_update(s) for s in scores]
        assert any(score > 0 for score in scores)

    # the README's one-line error, from a job that asks for no trees
    example = re.findall(r"```text\n\$ (tidebox job run jobs/bad_forest.sql)\n(.*?)\n```", README)
    [(command, message)] = example
    bad = job.replace("grade => 'tuned'", "grade => 'tuned', number_of_trees => 0")
    (tmp_path / "jobs" / "bad_forest.sql").write_text(bad)
    done = subprocess.run(
        command.replace("tidebox", TIDEBOX, 1).split(),
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert done.stderr.strip() == message
