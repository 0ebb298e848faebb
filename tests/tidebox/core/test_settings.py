"""Unit tests of tidebox.core.settings: precedence, stream merging, errors, frozen settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from tidebox.core.errors import ConfigError, TideboxError
from tidebox.core.settings import (
    DEFAULT_STREAMS,
    SENSOR_COLUMNS,
    Settings,
    SinkSpec,
    load_settings,
    read_environment,
)


def write_yaml(folder: Path, text: str, name: str = "tidebox.yaml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def config_error(
    config_path: Path | None = None,
    environ: dict[str, str] | None = None,
    overrides: dict[str, object] | None = None,
) -> str:
    """The message of the ConfigError that loading these settings raises (checked one line)."""
    with pytest.raises(ConfigError) as info:
        load_settings(overrides, config_path=config_path, environ=environ or {})
    message = str(info.value)
    assert "\n" not in message
    assert isinstance(info.value, TideboxError)
    return message


# -- precedence ---------------------------------------------------------------------------------


def test_cli_beats_environment_beats_yaml_beats_defaults(tmp_path: Path) -> None:
    empty = write_yaml(tmp_path, "{}\n", name="empty.yaml")
    config = write_yaml(tmp_path, "kafka_port: 9001\nbucket: /from/yaml\n")
    environ = {"TIDEBOX_KAFKA_PORT": "9002", "TIDEBOX_BUCKET": "/from/env"}
    cli = {"kafka_port": 9003, "bucket": Path("/from/cli")}

    defaults = load_settings(None, config_path=empty, environ={})
    assert (defaults.kafka_port, defaults.bucket) == (9092, None)

    from_yaml = load_settings(None, config_path=config, environ={})
    assert (from_yaml.kafka_port, from_yaml.bucket) == (9001, Path("/from/yaml"))

    from_env = load_settings(None, config_path=config, environ=environ)
    assert (from_env.kafka_port, from_env.bucket) == (9002, Path("/from/env"))

    from_cli = load_settings(cli, config_path=config, environ=environ)
    assert (from_cli.kafka_port, from_cli.bucket) == (9003, Path("/from/cli"))


def test_cli_options_left_unset_do_not_hide_lower_layers(tmp_path: Path) -> None:
    config = write_yaml(tmp_path, "kafka_port: 9001\n")
    settings = load_settings(
        {"kafka_port": None, "bucket": None},
        config_path=config,
        environ={"TIDEBOX_BUCKET": "/from/env"},
    )
    assert settings.kafka_port == 9001
    assert settings.bucket == Path("/from/env")


def test_every_environment_variable_maps_to_its_field(tmp_path: Path) -> None:
    environ = {
        "TIDEBOX_STATE_DIR": "/state",
        "TIDEBOX_BOOTSTRAP_SERVERS": "broker:29092",
        "TIDEBOX_KAFKA_PORT": "19092",
        "TIDEBOX_BUCKET": "/bucket",
        "TIDEBOX_FLINK_PARALLELISM": "4",
        "UNRELATED": "ignored",
    }
    settings = load_settings(None, config_path=write_yaml(tmp_path, "{}\n"), environ=environ)
    assert settings.state_dir == Path("/state")
    assert settings.bootstrap_servers == "broker:29092"
    assert settings.kafka_port == 19092
    assert settings.bucket == Path("/bucket")
    assert settings.flink_parallelism == 4


def test_empty_environment_values_are_ignored() -> None:
    assert read_environment({"TIDEBOX_KAFKA_PORT": "", "TIDEBOX_BUCKET": "/b"}) == {"bucket": "/b"}


# -- tidebox.yaml --------------------------------------------------------------------------------


def test_yaml_streams_merge_with_defaults_by_name(tmp_path: Path) -> None:
    config = write_yaml(
        tmp_path,
        """
streams:
  - name: sensor_readings
    shards: 6
  - name: clicks
    time_field: ts
    key_field: user
    columns:
      user: STRING
      ts: TIMESTAMP_LTZ(3)
""",
    )
    settings = load_settings(None, config_path=config, environ={})

    assert [s.name for s in settings.streams] == [
        "sensor_readings",
        "device_stats_1m",
        "device_anomaly_scores",
        "clicks",
    ]
    readings = settings.stream("sensor_readings")
    assert readings is not None
    assert readings.shards == 6
    # Fields the file does not name keep their defaults.
    assert readings.time_field == "event_time"
    assert readings.key_field == "device_id"
    assert readings.columns == SENSOR_COLUMNS

    assert settings.stream("device_stats_1m") == DEFAULT_STREAMS[1]

    clicks = settings.stream("clicks")
    assert clicks is not None
    assert clicks.columns == {"user": "STRING", "ts": "TIMESTAMP_LTZ(3)"}
    assert (clicks.time_field, clicks.key_field, clicks.shards) == ("ts", "user", 1)
    assert settings.stream("nope") is None


def test_tidebox_config_variable_selects_the_file(tmp_path: Path) -> None:
    chosen = write_yaml(tmp_path, "kafka_port: 9500\n", name="chosen.yaml")
    settings = load_settings(None, environ={"TIDEBOX_CONFIG": str(chosen)})
    assert settings.kafka_port == 9500


def test_explicit_config_path_beats_tidebox_config_variable(tmp_path: Path) -> None:
    chosen = write_yaml(tmp_path, "kafka_port: 9500\n", name="chosen.yaml")
    other = write_yaml(tmp_path, "kafka_port: 9600\n", name="other.yaml")
    settings = load_settings(None, config_path=other, environ={"TIDEBOX_CONFIG": str(chosen)})
    assert settings.kafka_port == 9600


def test_default_file_is_tidebox_yaml_in_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_settings(None, environ={}).kafka_port == 9092  # absent: defaults
    write_yaml(tmp_path, "kafka_port: 9700\n")
    assert load_settings(None, environ={}).kafka_port == 9700


def test_missing_file_named_by_tidebox_config_raises(tmp_path: Path) -> None:
    missing = tmp_path / "typo.yaml"
    with pytest.raises(ConfigError, match="not found"):
        load_settings(None, environ={"TIDEBOX_CONFIG": str(missing)})


# -- errors --------------------------------------------------------------------------------------


def test_missing_explicit_config_file_raises(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    message = config_error(config_path=missing)
    assert str(missing) in message
    assert "config file not found" in message


@pytest.mark.parametrize("text", ["- 1\n- 2\n", "just a string\n", "42\n"])
def test_non_mapping_yaml_raises(tmp_path: Path, text: str) -> None:
    config = write_yaml(tmp_path, text)
    message = config_error(config_path=config)
    assert message == f"{config}: top level must be a mapping"


def test_unparseable_yaml_raises(tmp_path: Path) -> None:
    config = write_yaml(tmp_path, "kafka_port: [1, 2\n")
    with pytest.raises(ConfigError) as info:
        load_settings(None, config_path=config, environ={})
    assert str(info.value).startswith(f"{config}: cannot read:")


def test_unparseable_yaml_error_is_one_line(tmp_path: Path) -> None:
    config = write_yaml(tmp_path, "kafka_port: [1, 2\n")
    config_error(config_path=config)


def test_kafka_port_zero_raises(tmp_path: Path) -> None:
    config = write_yaml(tmp_path, "kafka_port: 0\n")
    message = config_error(config_path=config)
    assert message.startswith(f"{config}: kafka_port:")
    assert "greater than or equal to 1" in message


@pytest.mark.parametrize(
    ("environ", "overrides"),
    [({"TIDEBOX_KAFKA_PORT": "0"}, None), ({}, {"kafka_port": 0})],
    ids=["environment", "cli"],
)
def test_kafka_port_zero_from_env_or_cli_raises(
    tmp_path: Path, environ: dict[str, str], overrides: dict[str, object] | None
) -> None:
    config = write_yaml(tmp_path, "{}\n")
    assert "kafka_port:" in config_error(config_path=config, environ=environ, overrides=overrides)


def test_bad_environment_value_does_not_blame_an_absent_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    message = config_error(environ={"TIDEBOX_KAFKA_PORT": "0"})
    assert "tidebox.yaml" not in message


def test_stream_name_with_a_space_raises(tmp_path: Path) -> None:
    config = write_yaml(tmp_path, "streams:\n  - name: my stream\n")
    message = config_error(config_path=config)
    assert "streams." in message
    assert "'my stream'" in message


def test_stream_entry_without_name_raises(tmp_path: Path) -> None:
    config = write_yaml(tmp_path, "streams:\n  - shards: 3\n")
    assert "every entry needs a name" in config_error(config_path=config)


def test_unknown_setting_raises(tmp_path: Path) -> None:
    config = write_yaml(tmp_path, "kafka_prot: 9093\n")
    assert "kafka_prot" in config_error(config_path=config)


def test_bad_stream_value_raises(tmp_path: Path) -> None:
    config = write_yaml(tmp_path, "streams:\n  - name: sensor_readings\n    shards: 0\n")
    assert "shards" in config_error(config_path=config)


# -- the settings object -------------------------------------------------------------------------


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(ValidationError):
        settings.kafka_port = 1
    with pytest.raises(ValidationError):
        settings.streams[0].shards = 9
    assert isinstance(settings.streams, tuple)


def test_embedded_broker_by_default() -> None:
    settings = Settings(kafka_port=19092)
    assert settings.embedded
    assert settings.kafka_bootstrap == "127.0.0.1:19092"


def test_external_bootstrap_servers_disable_the_embedded_broker() -> None:
    settings = Settings(bootstrap_servers="broker:29092", kafka_port=19092)
    assert not settings.embedded
    assert settings.kafka_bootstrap == "broker:29092"


def test_bucket_path_defaults_under_state_dir() -> None:
    assert Settings(state_dir=Path("/state")).bucket_path == Path("/state/bucket")
    assert Settings(state_dir=Path("/state"), bucket=Path("/b")).bucket_path == Path("/b")


def test_suite_lookup() -> None:
    settings = Settings()
    suite = settings.suite("sensor_readings")
    assert suite is not None
    assert suite.table == "sensor_readings"
    assert settings.suite("nope") is None


def test_a_delivery_stream_takes_columns_or_a_schema_table_not_both() -> None:
    with pytest.raises(ValidationError, match="not both"):
        SinkSpec(name="ds", stream="s", columns={"a": "INT"}, schema_table="t")
    assert SinkSpec(name="ds", stream="s", columns={"a": "INT"}).schema_source == "ds"
    assert SinkSpec(name="ds", stream="s", schema_table="t").schema_source == "t"
    assert SinkSpec(name="ds", stream="s").schema_source == "s"
