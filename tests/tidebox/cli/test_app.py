"""The real ``tidebox`` command: bad input gives one clear line and a non-zero exit."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support import TEST_STATE, cli_env, free_port, run_cli, unique
from tidebox.core.settings import Settings
from tidebox.streams.generate import GenerateSpec, write_dataset

REPO = Path(__file__).resolve().parents[3]


def env_for(settings: Settings) -> dict[str, str]:
    return {k: v for k, v in cli_env(settings).items() if k.startswith("TIDEBOX_")}


def assert_one_clear_line(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr + done.stdout
    lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, done.stderr
    for word in words:
        assert word in lines[0], lines[0]


def test_help_lists_every_stage(tmp_path: Path) -> None:
    done = run_cli(["--help"], tmp_path)
    assert done.returncode == 0
    for command in (
        "up",
        "down",
        "status",
        "stream",
        "generate",
        "replay",
        "job",
        "sink",
        "query",
        "check",
        "demo",
    ):
        assert command in done.stdout


def test_kafka_not_reachable(tmp_path: Path) -> None:
    done = run_cli(["--bootstrap-servers", "127.0.0.1:1", "stream", "list"], tmp_path)
    assert_one_clear_line(done, "Kafka is not reachable at 127.0.0.1:1")


def test_a_bad_config_file(tmp_path: Path) -> None:
    (tmp_path / "tidebox.yaml").write_text("kafka_port: not-a-port\n")
    assert_one_clear_line(run_cli(["status"], tmp_path), "tidebox.yaml", "kafka_port")


def test_generate_writes_the_data_set(tmp_path: Path) -> None:
    done = run_cli(
        ["generate", "--devices", "2", "--hours", "0.5", "--out", "d/x.parquet"], tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "d" / "x.parquet").is_file()
    assert "wrote 360 readings of 2 devices" in done.stdout


def test_generate_writes_into_the_project_by_default(tmp_path: Path) -> None:
    """Without --out the data set goes to the project's data/, from any folder inside it."""
    (tmp_path / "tidebox.yaml").write_text("{}\n")
    inside = tmp_path / "jobs"
    inside.mkdir()
    done = run_cli(["generate", "--devices", "1", "--hours", "0.1"], inside)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "data" / "sensor_readings.csv").is_file()
    assert not (inside / "data").exists()


@pytest.mark.integration
def test_replay_bad_input(kafka_settings: Settings, tmp_path: Path) -> None:
    env = env_for(kafka_settings)
    missing = run_cli(["replay", "nope.csv", "--stream", "sensor_readings"], tmp_path, env)
    assert_one_clear_line(missing, "nope.csv", "file not found")

    bad = tmp_path / "bad.csv"
    bad.write_text("device_id,event_time,temperature\nd1,2026-01-01T00:00:00Z,1\nd1,noon,2\n")
    unparseable = run_cli(["replay", str(bad), "--stream", "sensor_readings"], tmp_path, env)
    assert_one_clear_line(unparseable, "bad.csv:3", "unparseable time", "'noon'")

    good = write_dataset(GenerateSpec(devices=1, hours=0.01), tmp_path / "good.csv")
    unknown = run_cli(["replay", str(good.path), "--stream", "no_such_stream"], tmp_path, env)
    assert_one_clear_line(unknown, "unknown stream 'no_such_stream'")


@pytest.mark.integration
def test_stream_commands(kafka_settings: Settings, tmp_path: Path) -> None:
    env = env_for(kafka_settings)
    name = unique("cli")
    created = run_cli(
        ["stream", "create", name, "--shards", "3", "--retention-hours", "2"], tmp_path, env
    )
    assert created.returncode == 0, created.stderr
    assert "3 shard(s), 2 h" in created.stdout
    assert name in run_cli(["stream", "list"], tmp_path, env).stdout
    described = run_cli(["stream", "describe", name], tmp_path, env)
    assert "retention 2 h, 0 records" in described.stdout
    assert_one_clear_line(
        run_cli(["stream", "describe", "nope_x"], tmp_path, env), "unknown stream"
    )
    assert run_cli(["stream", "delete", name], tmp_path, env).returncode == 0


@pytest.mark.integration
@pytest.mark.flink
def test_a_job_file_with_a_sql_error(kafka_settings: Settings, tmp_path: Path) -> None:
    env = env_for(kafka_settings)
    run_cli(["stream", "create", "sensor_readings"], tmp_path, env)
    job = tmp_path / "broken.sql"
    job.write_text("INSERT INTO device_stats_1m SELECT nonsense FROM sensor_readings;")
    done = run_cli(["job", "run", str(job)], tmp_path, env)
    assert_one_clear_line(done, "broken.sql", "nonsense")


@pytest.mark.integration
def test_query_and_check_errors_leave_landed_data_alone(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    from tests.tidebox.quality.test_landed import corrupt, good_records, land

    settings = kafka_settings.model_copy(update={"bucket": tmp_path / "bucket"})
    land(settings, "sensor_readings", good_records())
    land(settings, "broken_copy", corrupt(good_records()))
    env = env_for(settings)

    count = ["query", "SELECT count(*) AS n FROM sensor_readings", "--format", "csv"]
    before = run_cli(count, tmp_path, env)
    assert before.returncode == 0 and before.stdout.splitlines() == ["n", "1800"]

    assert_one_clear_line(
        run_cli(["query", "SELECT * FROM missing_table"], tmp_path, env), "missing_table"
    )
    assert_one_clear_line(run_cli(["query", "SELEKT 1"], tmp_path, env), "syntax error")
    passed = run_cli(["check", "sensor_readings"], tmp_path, env)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    failed = run_cli(["check", "sensor_readings", "--table", "broken_copy"], tmp_path, env)
    assert failed.returncode == 1
    assert "FAIL" in failed.stdout and "3 expectation(s) failed" in failed.stderr
    assert "score 0.81 (13 of 16 rules passed)" in failed.stdout
    as_json = run_cli(["check", "sensor_readings", "--format", "json"], tmp_path, env)
    document = json.loads(as_json.stdout)
    assert as_json.returncode == 0 and document["Score"] == 1.0
    assert document["AggregatedMetrics"]["TotalRulesFailed"] == 0

    assert run_cli(count, tmp_path, env).stdout == before.stdout  # nothing landed was lost


def test_state_dir_is_shared_with_the_test_session() -> None:
    # CLI tests lean on the jars the session fixture cached under .tidebox/test
    assert TEST_STATE.parent.name == ".tidebox" and REPO.is_dir()


@pytest.mark.integration
def test_an_external_kafka_is_used_and_none_is_started(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    external = {
        "TIDEBOX_BOOTSTRAP_SERVERS": kafka_settings.kafka_bootstrap,
        "TIDEBOX_API_PORT": str(free_port()),
    }
    up = run_cli(["up"], tmp_path, external)
    try:
        assert up.returncode == 0 and "no broker to start" in up.stdout
        assert not (tmp_path / ".tidebox" / "kafka").exists()  # no broker of ours was prepared
        status = run_cli(["status"], tmp_path, external)
        assert status.returncode == 0 and "(external)" in status.stdout
        assert "running" in status.stdout
        assert run_cli(["stream", "list"], tmp_path, external).returncode == 0
    finally:
        run_cli(["down"], tmp_path, external)


def test_sink_run_needs_a_known_delivery_stream(tmp_path: Path) -> None:
    assert_one_clear_line(
        run_cli(["sink", "run", "nope"], tmp_path), "unknown delivery stream 'nope'"
    )


def test_sink_create_list_delete(tmp_path: Path) -> None:
    env = {"TIDEBOX_STATE_DIR": str(tmp_path / "state")}
    created = run_cli(
        [
            "sink", "create", "by_device", "--stream", "sensor_readings",
            "--prefix", "by_device/device=!{partitionKeyFromQuery:device}/",
            "--partition-key", "device=.device_id", "--size-bytes", "100000", "--interval", "5",
        ],
        tmp_path,
        env,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    listed = run_cli(["sink", "list"], tmp_path, env)
    assert "by_device" in listed.stdout and "created" in listed.stdout
    assert "sensor_readings" in listed.stdout and "declared" in listed.stdout
    assert_one_clear_line(
        run_cli(["sink", "create", "by_device", "--stream", "x"], tmp_path, env), "already exists"
    )
    assert_one_clear_line(
        run_cli(
            ["sink", "create", "bad", "--stream", "x", "--prefix", "!{weather:x}/"], tmp_path, env
        ),
        "unknown namespace 'weather'",
    )
    assert_one_clear_line(
        run_cli(["sink", "create", "small", "--stream", "x", "--size-mb", "5"], tmp_path, env),
        "Parquet conversion needs 64-128",
    )
    assert_one_clear_line(
        run_cli(["sink", "delete", "sensor_readings"], tmp_path, env), "declared in tidebox.yaml"
    )
    assert run_cli(["sink", "delete", "by_device"], tmp_path, env).returncode == 0
    assert "by_device" not in run_cli(["sink", "list"], tmp_path, env).stdout


def test_sink_drop_deletes_a_landed_table(tmp_path: Path) -> None:
    from tests.tidebox.quality.test_landed import good_records, land

    settings = Settings(state_dir=tmp_path / "state", bucket=tmp_path / "bucket")
    land(settings, "sensor_readings", good_records())
    env = {
        "TIDEBOX_BUCKET": str(settings.bucket_path),
        "TIDEBOX_STATE_DIR": str(settings.state_dir),
    }
    refused = run_cli(["sink", "drop", "sensor_readings"], tmp_path, env)  # no stdin: not confirmed
    assert refused.returncode != 0 and (settings.bucket_path / "sensor_readings").exists()
    dropped = run_cli(["sink", "drop", "sensor_readings", "--yes"], tmp_path, env)
    assert dropped.returncode == 0 and not (settings.bucket_path / "sensor_readings").exists()
    assert_one_clear_line(
        run_cli(["query", "SELECT 1 FROM sensor_readings"], tmp_path, env), "unknown table"
    )


def test_generate_options_default_to_the_spec_and_their_help_says_so() -> None:
    """Unset options leave the spec's (or spec file's) values; the help names the defaults."""
    import inspect

    from tidebox.cli.app import generate
    from tidebox.streams.generate import GenerateSpec

    options = inspect.signature(generate).parameters
    for option, field in [
        ("devices", "devices"),
        ("hours", "hours"),
        ("seed", "seed"),
        ("interval", "interval_seconds"),
        ("anomaly_rate", "anomaly_rate"),
    ]:
        assert options[option].default.default is None
        assert f"default {getattr(GenerateSpec, field):g}" in options[option].default.help.lower()
