"""The one job loader: the plan and script ``job run`` and the harness share, without Flink."""

from __future__ import annotations

import pytest

from tests.support import JOBS, repo_settings
from tidebox.core.errors import JobError
from tidebox.core.settings import Settings, StreamSpec, TableSpec
from tidebox.flink.kafka_tables import KafkaTables
from tidebox.flink.loader import check_writes, job_script, load_job, load_sql
from tidebox.templates import DEMO_JOB


class Named:
    """Tables that only name what they declare, to read a script's shape."""

    def source(self, spec: StreamSpec, table: str, arrival: str | None = None) -> str:
        return f"source {spec.name} as {table}" + (f" arriving in {arrival}" if arrival else "")

    def sink(self, spec: StreamSpec) -> str:
        return f"sink {spec.name}"

    def reference(self, table: TableSpec) -> str:
        return f"reference {table.name}"

    def create_sink(self, spec: StreamSpec) -> None:
        pass

    def check_sources(self, job: str, names: list[str]) -> None:
        pass


def test_a_windowed_job_routes_its_late_records_around_its_own_statements() -> None:
    job = load_job(Settings(), DEMO_JOB)
    assert job.name == "device_stats_1m" and job.late_stream == "device_stats_1m_late"
    script = job_script(job, Named())
    assert script[0] == "SET 'table.local-time-zone' = 'UTC'"
    assert script[1] == "source sensor_readings as sensor_readings__all"
    assert script[2].startswith("CREATE TEMPORARY VIEW `sensor_readings`")
    assert script[3:5] == ["sink device_stats_1m", "sink device_stats_1m_late"]
    assert script[5].startswith("INSERT INTO device_stats_1m")
    assert script[6].startswith("INSERT INTO `device_stats_1m_late`") and len(script) == 7


def test_no_late_routing_without_event_time_or_when_turned_off() -> None:
    plain = load_sql(Settings(), "INSERT INTO device_stats_1m SELECT * FROM sensor_readings", "p")
    assert plain.late_stream is None
    assert job_script(plain, Named())[1] == "source sensor_readings as sensor_readings"
    dropped = load_job(Settings(), DEMO_JOB, late_stream="")
    assert dropped.late_stream is None and dropped.late_spec is None


def test_reference_tables_and_python_jobs_are_planned_alike() -> None:
    joined = load_job(repo_settings(), JOBS / "device_stats_by_site.sql")
    assert job_script(joined, Named())[1] == "reference devices"
    python = load_job(Settings(), JOBS / "vibration_peaks_5m.py")
    assert python.build is not None and python.plan.statements == ()
    assert [s.name for s in python.plan.sources] == ["sensor_readings"]
    assert python.late_stream == "vibration_peaks_5m_late"


def test_a_sql_job_must_write_somewhere() -> None:
    job = load_sql(Settings(), "CREATE VIEW v AS SELECT 1", "nothing")
    with pytest.raises(JobError, match="no INSERT INTO"):
        check_writes(job)


def test_job_run_binds_the_same_plan_to_kafka_topics() -> None:
    settings = Settings(kafka_port=29092)
    job = load_job(settings, DEMO_JOB)
    script = job_script(job, KafkaTables(settings, job.name, bounded=True))
    assert (
        "CREATE TABLE `sensor_readings__all`" in script[1] and "'connector' = 'kafka'" in script[1]
    )
    assert "'scan.bounded.mode' = 'latest-offset'" in script[1]
    assert "'topic' = 'device_stats_1m_late'" in script[4]


def test_flink_errors_come_out_as_their_first_useful_line() -> None:
    from tidebox.flink.loader import flink_message

    raised = Exception(
        "An error occurred while calling o42.executeSql.\n"
        ": org.apache.calcite.runtime.CalciteContextException: From line 2, column 28 to line"
        " 2, column 38: Expression 'x' is not being grouped\n\tat org.apache.calcite.Sql"
    )
    assert flink_message(raised) == (
        "From line 2, column 28 to line 2, column 38: Expression 'x' is not being grouped"
    )
