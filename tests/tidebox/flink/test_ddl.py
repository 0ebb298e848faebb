"""Unit tests of tidebox.flink.ddl: statement splitting, job planning and derived table DDL."""

from __future__ import annotations

from pathlib import Path

import pytest

from tidebox.core.settings import Settings, StreamSpec
from tidebox.flink.ddl import plan_job, split_statements, table_ddl
from tidebox.templates import DEMO_JOB

JOB_FILE = DEMO_JOB


def with_streams(*specs: StreamSpec, **changes: object) -> Settings:
    return Settings(streams=specs, **changes)  # type: ignore[arg-type]


# -- split_statements ----------------------------------------------------------------------------


def test_split_on_semicolons_and_drop_empty_statements() -> None:
    assert split_statements("SELECT 1; SELECT 2;;  ;\n") == ["SELECT 1", "SELECT 2"]
    assert split_statements("  \n ; ") == []
    assert split_statements("SELECT 1") == ["SELECT 1"]


@pytest.mark.parametrize(
    "statement",
    ["SELECT 'a;b'", 'SELECT "a;b"', "SELECT `a;b`", "SELECT 'it''s; fine'"],
)
def test_semicolons_inside_quotes_do_not_split(statement: str) -> None:
    assert split_statements(f"{statement}; SELECT 2") == [statement, "SELECT 2"]


def test_comments_are_dropped_with_their_semicolons() -> None:
    text = "-- first; comment\nSELECT 1 -- trailing; comment\n; /* block; \n comment */ SELECT 2;"
    assert split_statements(text) == ["SELECT 1", "SELECT 2"]


def test_comment_markers_inside_quotes_are_text() -> None:
    assert split_statements("SELECT '--;/*' AS x; SELECT 2") == ["SELECT '--;/*' AS x", "SELECT 2"]


def test_unterminated_comments_run_to_the_end() -> None:
    assert split_statements("SELECT 1; -- no newline; SELECT 2") == ["SELECT 1"]
    assert split_statements("SELECT 1; /* never closed; SELECT 2") == ["SELECT 1"]


def test_a_file_of_only_comments_has_no_statements() -> None:
    assert split_statements("-- nothing here;\n/* nor; here */\n") == []


def test_block_comment_between_tokens_keeps_them_apart() -> None:
    [statement] = split_statements("SELECT a/* c */FROM t")
    assert statement.split() == ["SELECT", "a", "FROM", "t"]


# -- plan_job ------------------------------------------------------------------------------------


def test_plan_of_the_real_job_file() -> None:
    plan = plan_job(JOB_FILE.read_text(), Settings())
    assert [s.name for s in plan.sources] == ["sensor_readings"]
    assert [s.name for s in plan.sinks] == ["device_stats_1m"]
    assert len(plan.statements) == 1
    assert plan.statements[0].startswith("INSERT INTO device_stats_1m")
    assert "--" not in plan.statements[0]  # the header comment is gone


def test_create_table_in_the_file_wins_over_derived_ddl() -> None:
    text = """
    CREATE TEMPORARY TABLE IF NOT EXISTS `sensor_readings` (device_id STRING)
      WITH ('connector' = 'datagen');
    INSERT INTO device_stats_1m SELECT * FROM sensor_readings;
    """
    plan = plan_job(text, Settings())
    assert plan.sources == ()
    assert [s.name for s in plan.sinks] == ["device_stats_1m"]
    assert len(plan.statements) == 2


def test_create_view_also_wins() -> None:
    text = "CREATE VIEW device_stats_1m AS SELECT 1; SELECT * FROM device_stats_1m"
    assert plan_job(text, Settings()).sources == ()


def test_stream_names_match_whole_words_only() -> None:
    settings = with_streams(
        StreamSpec(name="sensor", columns={"x": "STRING"}),
        StreamSpec(name="sensor_readings", columns={"x": "STRING"}),
        StreamSpec(name="out", columns={"x": "STRING"}),
    )
    plan = plan_job("INSERT INTO out SELECT x FROM sensor_readings", settings)
    assert [s.name for s in plan.sources] == ["sensor_readings"]
    assert [s.name for s in plan.sinks] == ["out"]

    plan = plan_job("INSERT INTO `out` SELECT x FROM `sensor`", settings)
    assert [s.name for s in plan.sources] == ["sensor"]
    assert [s.name for s in plan.sinks] == ["out"]


def test_streams_named_only_in_comments_are_not_used() -> None:
    text = "-- reads sensor_readings\nINSERT INTO device_stats_1m SELECT 1"
    plan = plan_job(text, Settings())
    assert plan.sources == ()
    assert [s.name for s in plan.sinks] == ["device_stats_1m"]


def test_insert_overwrite_is_a_sink() -> None:
    plan = plan_job("INSERT OVERWRITE device_stats_1m SELECT * FROM sensor_readings", Settings())
    assert [s.name for s in plan.sinks] == ["device_stats_1m"]


# -- table_ddl -----------------------------------------------------------------------------------


def test_source_ddl_has_watermark_and_earliest_offset() -> None:
    settings = Settings(kafka_port=19092)
    spec = settings.stream("sensor_readings")
    assert spec is not None
    ddl = table_ddl(spec, settings, "source", bounded=False, job_name="stats")

    assert ddl.startswith("CREATE TABLE `sensor_readings` (")
    assert "`event_time` TIMESTAMP_LTZ(3)" in ddl
    assert "WATERMARK FOR `event_time` AS `event_time` - INTERVAL '5.000' SECOND" in ddl
    assert "'topic' = 'sensor_readings'" in ddl
    assert "'properties.bootstrap.servers' = '127.0.0.1:19092'" in ddl
    assert "'properties.group.id' = 'tidebox-job-stats'" in ddl
    assert "'scan.startup.mode' = 'earliest-offset'" in ddl
    assert "scan.bounded.mode" not in ddl
    assert "key.fields" not in ddl


def test_bounded_source_stops_at_latest_offset() -> None:
    settings = Settings()
    spec = settings.stream("sensor_readings")
    assert spec is not None
    ddl = table_ddl(spec, settings, "source", bounded=True, job_name="stats")
    assert "'scan.bounded.mode' = 'latest-offset'" in ddl


def test_watermark_lag_follows_the_spec() -> None:
    spec = StreamSpec(
        name="s", time_field="ts", watermark_seconds=2.5, columns={"ts": "TIMESTAMP(3)"}
    )
    ddl = table_ddl(spec, with_streams(spec), "source", bounded=False, job_name="j")
    assert "WATERMARK FOR `ts` AS `ts` - INTERVAL '2.500' SECOND" in ddl


def test_no_watermark_on_a_time_field_of_another_type() -> None:
    spec = StreamSpec(name="s", time_field="ts", columns={"ts": "BIGINT"})
    ddl = table_ddl(spec, with_streams(spec), "source", bounded=False, job_name="j")
    assert "WATERMARK" not in ddl


def test_sink_ddl_is_keyed_and_has_no_watermark() -> None:
    settings = Settings(bootstrap_servers="broker:29092")
    spec = settings.stream("device_stats_1m")
    assert spec is not None
    ddl = table_ddl(spec, settings, "sink", bounded=True, job_name="stats")

    assert "WATERMARK" not in ddl
    assert "'key.format' = 'raw'" in ddl
    assert "'key.fields' = 'device_id'" in ddl
    assert "'value.fields-include' = 'ALL'" in ddl
    assert "'sink.partitioner' = 'io.tidebox.flink.KinesisPartitioner'" in ddl  # Kinesis' routing
    assert "'properties.bootstrap.servers' = 'broker:29092'" in ddl
    assert "scan." not in ddl
    assert "properties.group.id" not in ddl


def test_sink_with_a_non_string_key_is_not_keyed() -> None:
    spec = StreamSpec(name="s", key_field="id", columns={"id": "BIGINT", "v": "DOUBLE"})
    ddl = table_ddl(spec, with_streams(spec), "sink", bounded=False, job_name="j")
    assert "key.fields" not in ddl
    assert "key.format" not in ddl
    assert "sink.partitioner" not in ddl  # no key to route by: Kafka's producer picks


def test_stream_without_columns_cannot_be_declared() -> None:
    spec = StreamSpec(name="loose")
    with pytest.raises(ValueError, match="loose"):
        table_ddl(spec, with_streams(spec), "source", bounded=False, job_name="j")


def test_a_declared_job_name_resolves_to_its_file(tmp_path: Path) -> None:
    from tidebox.flink.loader import resolve_job

    settings = Settings()
    path, spec = resolve_job(settings, "device_stats_1m")
    assert spec is not None and path == JOB_FILE.resolve()
    own = tmp_path / "device_stats_1m"
    own.write_text("INSERT INTO x SELECT 1")
    assert resolve_job(settings, own) == (own, None)  # a file path wins over a name


def test_sources_read_committed_records_with_their_watermark_options() -> None:
    spec = StreamSpec(
        name="s",
        time_field="ts",
        idle_timeout_seconds=2.5,
        watermark_emit="on-event",
        columns={"ts": "TIMESTAMP_LTZ(3)"},
    )
    ddl = table_ddl(spec, with_streams(spec), "source", bounded=False, job_name="j")
    assert "'properties.isolation.level' = 'read_committed'" in ddl
    assert "'scan.watermark.idle-timeout' = '2500 ms'" in ddl
    assert "'scan.watermark.emit.strategy' = 'on-event'" in ddl


def test_sinks_write_in_transactions_unless_at_least_once() -> None:
    settings = Settings()
    spec = settings.stream("device_stats_1m")
    assert spec is not None
    once = table_ddl(spec, settings, "sink", bounded=False, job_name="stats")
    assert "'sink.delivery-guarantee' = 'exactly-once'" in once
    assert "'sink.transactional-id-prefix' = 'tidebox-stats-device_stats_1m'" in once
    assert "'properties.transaction.timeout.ms' = '900000'" in once
    loose = table_ddl(spec, settings, "sink", False, "stats", delivery="at-least-once")
    assert "'sink.delivery-guarantee' = 'at-least-once'" in loose
    assert "transactional-id-prefix" not in loose
