"""A KDA SQL application as a tidebox job: recognised, bound to its input, planned as the
runner and the harness run it (no Flink), and its Flink SQL printed by ``job translate``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import run_cli, write_config
from tests.tidebox.flink.test_loader import Named
from tidebox.core.errors import ConfigError, StreamNotFoundError
from tidebox.core.settings import Settings, StreamSpec
from tidebox.flink.kafka_tables import KafkaTables
from tidebox.flink.kda.job import KdaBinding, is_kda_application
from tidebox.flink.loader import job_script, load_job

APP = Path(__file__).parent / "apps" / "tumbling_rowtime.kda.sql"
TICKS = StreamSpec(name="ticks", columns={"TICKER": "STRING", "PRICE": "DOUBLE"})
SETTINGS = Settings(streams=[TICKS])


def test_an_application_is_told_by_flag_suffix_or_pump() -> None:
    pump = 'CREATE OR REPLACE PUMP "P" AS INSERT INTO "O" SELECT STREAM * FROM s'
    assert is_kda_application(Path("a.kda.sql"), "", None)
    assert is_kda_application(Path("a.sql"), pump, None)
    assert not is_kda_application(Path("a.sql"), "INSERT INTO o SELECT * FROM s", None)
    assert not is_kda_application(Path("a.kda.sql"), pump, "flink")
    assert is_kda_application(None, "", "kinesis-analytics")
    with pytest.raises(ConfigError, match="dialect is flink or kinesis-analytics, not 'kda'"):
        is_kda_application(None, "", "kda")


def test_the_input_is_its_source_read_at_arrival_time() -> None:
    job = load_job(SETTINGS, APP, kda=KdaBinding("ticks"))
    [source] = job.plan.sources
    assert source.name == "ticks" and source.time_field == "ROWTIME" and job.arrival == "ROWTIME"
    assert job.plan.undeclared_sinks == ("destination_sql_stream",)
    assert job.late_stream == "tumbling_rowtime_kda_late"
    script = job_script(job, Named())
    assert script[1] == "source ticks as ticks__all arriving in ROWTIME"
    view = next(s for s in script if "`SOURCE_SQL_STREAM_001` AS" in s)
    assert "CAST(`ROWTIME` AS TIMESTAMP(3)) AS `APPROXIMATE_ARRIVAL_TIME`" in view
    ddl = KafkaTables(SETTINGS, "j").source(source, "ticks", "ROWTIME")
    assert "`ROWTIME` TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL" in ddl
    assert "WATERMARK FOR `ROWTIME` AS `ROWTIME` - INTERVAL '0.001' SECOND" in ddl


def test_a_missing_input_or_unknown_output_is_one_line() -> None:
    with pytest.raises(ConfigError, match="name the stream SOURCE_SQL_STREAM_001 reads with"):
        load_job(SETTINGS, APP)
    with pytest.raises(StreamNotFoundError):
        load_job(SETTINGS, APP, kda=KdaBinding("nope"))
    with pytest.raises(ConfigError, match="has no output stream OTHER"):
        load_job(SETTINGS, APP, kda=KdaBinding("ticks", {"OTHER": "x"}))


def test_job_translate_prints_the_flink_sql(tmp_path: Path) -> None:
    write_config(tmp_path, streams=[TICKS])
    shown = run_cli(
        ["job", "translate", str(APP), "--input", "ticks", "--output",
         "DESTINATION_SQL_STREAM=minutes"],
        cwd=tmp_path,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert "CREATE TABLE `ticks__all`" in shown.stdout
    assert "INSERT INTO `minutes` (`TICKER`, `MIN_PRICE`, `MAX_PRICE`, `WINDOW_START`)" in (
        shown.stdout
    )
    bad = run_cli(["job", "translate", str(APP), "--input", "nope"], cwd=tmp_path)
    assert bad.returncode != 0 and "nope" in bad.stderr and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
