"""A job given by name: its spec in tidebox.yaml fills the run options the caller left unset."""

from __future__ import annotations

import pytest

from tidebox.core.errors import ConfigError
from tidebox.core.settings import JobSpec, Settings
from tidebox.flink.runner import RunOptions, job_options, render_job_sql, run_job
from tidebox.templates import DEMO_JOB


def declared(**fields: object) -> Settings:
    """Default settings with one more job, ``stats``: the shipped job file, and ``fields``."""
    settings = Settings()
    spec = JobSpec(name="stats", file=str(DEMO_JOB), **fields)  # type: ignore[arg-type]
    return settings.model_copy(update={"jobs": (*settings.jobs, spec)})


def test_unset_options_come_from_the_spec_and_set_ones_win() -> None:
    spec = JobSpec(
        name="stats",
        file="x.sql",
        bounded=False,
        parallelism=3,
        delivery="at-least-once",
        late_stream="",
        params={"a": "1", "b": "2"},
    )
    filled = job_options(spec, RunOptions(parallelism=2, params={"b": "9"}))
    assert (filled.bounded, filled.parallelism, filled.name) == (False, 2, "stats")
    assert (filled.delivery, filled.late_stream) == ("at-least-once", "")
    assert filled.params == {"a": "1", "b": "9"}


def test_a_kda_applications_bindings_come_from_the_spec_too() -> None:
    from tidebox.flink.kda.job import KdaBinding

    spec = JobSpec(
        name="app",
        file="app.kda.sql",
        input="ticks",
        outputs={"DESTINATION_SQL_STREAM": "minutes", "ALERTS": "alerts"},
        dialect="kinesis-analytics",
    )
    given = KdaBinding(None, {"ALERTS": "pages"})
    filled = job_options(spec, RunOptions(kda=given)).kda
    assert filled == KdaBinding(
        "ticks", {"DESTINATION_SQL_STREAM": "minutes", "ALERTS": "pages"}, "kinesis-analytics"
    )


def test_without_a_spec_the_defaults_apply() -> None:
    filled = job_options(None, RunOptions())
    assert (filled.bounded, filled.delivery, filled.late_stream, filled.params) == (
        True,
        "exactly-once",
        None,
        None,
    )


def test_an_unknown_delivery_is_refused_before_anything_runs() -> None:
    with pytest.raises(ConfigError, match="exactly-once or at-least-once"):
        run_job(declared(), "stats", delivery="sometimes")


def test_the_sql_of_a_job_by_name_is_that_of_its_file_with_its_spec() -> None:
    settings = declared(late_stream="")
    by_file = render_job_sql(settings, DEMO_JOB)
    assert render_job_sql(settings, "device_stats_1m") == by_file
    dropped = render_job_sql(settings, "stats")  # late_stream "": no late routing
    assert "device_stats_1m_late" in by_file and "_late" not in dropped
