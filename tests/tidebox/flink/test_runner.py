"""The shipped windowed job on real Kafka and a real Flink mini-cluster, checked against DuckDB."""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from tests.support import JOBS, unique
from tests.support.jobs import isolated
from tidebox.core.errors import JobError, StreamNotFoundError
from tidebox.core.settings import SENSORS, JobSpec, Settings
from tidebox.delivery.runner import run_sink
from tidebox.flink.runner import run_job
from tidebox.lake.query import run_query
from tidebox.streams.generate import GenerateSpec, write_dataset
from tidebox.streams.replay import replay

pytestmark = [pytest.mark.integration, pytest.mark.flink, pytest.mark.slow]


def isolated_job(settings: Settings, tmp_path: Path) -> tuple[Settings, Path, str, str]:
    """The shipped job over streams of its own, landing in a bucket of the test's own."""
    return isolated(settings, tmp_path, "job", bucket=tmp_path / "bucket")


def expected_windows(csv: Path) -> dict[tuple[str, str], dict[str, float]]:
    """The same 1-minute statistics computed independently by DuckDB over the input file."""
    stats = ", ".join(
        f"count({s}) AS {s}_count, avg({s}) AS {s}_avg, min({s}) AS {s}_min, max({s}) AS {s}_max"
        for s in SENSORS
    )
    rows = duckdb.sql(
        f"""SELECT device_id,
                   strftime(time_bucket(INTERVAL 1 MINUTE, event_time::TIMESTAMP), '%Y-%m-%d %H:%M')
                       AS window_start,
                   count(*) AS readings, {stats}
            FROM read_csv('{csv}', timestampformat = '%Y-%m-%dT%H:%M:%S.%gZ')
            GROUP BY ALL"""
    ).fetchall()
    columns = ["device_id", "window_start", "readings"] + [
        f"{s}_{stat}" for s in SENSORS for stat in ("count", "avg", "min", "max")
    ]
    result = {}
    for row in rows:
        record = dict(zip(columns, row, strict=True))
        result[(record.pop("device_id"), record.pop("window_start"))] = record
    return result


def test_every_window_equals_an_independent_computation(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    settings, job, source, sink = isolated_job(kafka_settings, tmp_path)
    data = write_dataset(
        GenerateSpec(devices=6, hours=0.5, interval_seconds=7, seed=3), tmp_path / "in.csv"
    )
    replay(settings, [data.path], source)

    result = run_job(settings, job, bounded=True)
    expected = expected_windows(data.path)
    assert result.records_out == {sink: len(expected)}

    run_sink(settings, sink)
    landed = run_query(
        settings,
        f"SELECT *, strftime(window_start, '%Y-%m-%d %H:%M') AS ws FROM {sink}",
    ).table.to_pylist()
    assert len(landed) == len(expected)
    for row in landed:
        want = expected[(row["device_id"], row["ws"])]
        assert (row["window_end"] - row["window_start"]).total_seconds() == 60
        for column, value in want.items():
            assert math.isclose(row[column], value, rel_tol=1e-9, abs_tol=1e-9), (row, column)


def test_a_sql_error_names_the_job_and_the_problem(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    settings, job, source, _sink = isolated_job(kafka_settings, tmp_path)
    data = write_dataset(GenerateSpec(devices=1, hours=0.01), tmp_path / "in.csv")
    replay(settings, [data.path], source)
    job.write_text(job.read_text().replace("GROUP BY", "GROUP BYE"))
    with pytest.raises(JobError) as failure:
        run_job(settings, job)
    assert str(job) in str(failure.value)
    assert "\n" not in str(failure.value)
    assert "Encountered" in str(failure.value) or "parse" in str(failure.value).lower()


def test_a_declared_job_runs_by_name_with_its_spec(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    """``run_job(settings, NAME)`` runs the declared job's file with its spec's options."""
    settings, job, source, sink = isolated_job(kafka_settings, tmp_path)
    spec = JobSpec(name=unique("named"), file=str(job), late_stream="")
    settings = settings.model_copy(update={"jobs": (*settings.jobs, spec)})
    data = write_dataset(GenerateSpec(devices=1, hours=0.02), tmp_path / "in.csv")
    replay(settings, [data.path], source)

    result = run_job(settings, spec.name, restore="none")

    assert (result.job, result.bounded, result.late_stream) == (spec.name, True, None)
    assert result.records_out[sink] > 0


def test_an_unknown_source_stream_is_refused_before_flink_starts(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    settings, job, source, _sink = isolated_job(kafka_settings, tmp_path)
    with pytest.raises(StreamNotFoundError, match=source):
        run_job(settings, job)
    with pytest.raises(JobError, match="cannot read the job file"):
        run_job(settings, tmp_path / "missing.sql")


def test_an_undeclared_output_stream_takes_the_query_columns(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    from tidebox.flink.harness import run_job_on_rows
    from tidebox.streams.admin import describe_stream

    settings, _, source, _ = isolated_job(kafka_settings, tmp_path)
    sink = unique("hop")
    example = (JOBS / "temperature_hop_5m.sql").read_text()
    job = tmp_path / "hop.sql"
    job.write_text(example.replace("sensor_readings", source).replace("temperature_hop_5m", sink))
    data = write_dataset(GenerateSpec(devices=2, hours=0.2, seed=4), tmp_path / "in.csv")
    replay(settings, [data.path], source)

    result = run_job(settings, job)  # the sink stream is created from the query's columns
    expected = run_job_on_rows(job, {source: data.path}, settings)[sink]
    assert result.records_out == {sink: len(expected)} and describe_stream(settings, sink).records
    run_sink(settings, sink)
    landed = run_query(settings, f"SELECT * FROM {sink}").table
    assert {"window_start", "window_end", "device_id", "temperature_max"} <= set(
        landed.column_names
    )
    assert landed.num_rows == len(expected)


@pytest.mark.parametrize("example", ["temperature_jumps.py", "vibration_peaks_5m.py"])
def test_a_python_job_runs_against_kafka_as_in_the_harness(
    kafka_settings: Settings, tmp_path: Path, example: str
) -> None:
    from tidebox.flink.harness import run_job_on_rows

    settings, _, source, _ = isolated_job(kafka_settings, tmp_path)
    output = unique(example.split(".")[0])
    text = (JOBS / example).read_text()
    job = tmp_path / example
    job.write_text(text.replace("sensor_readings", source).replace(example[:-3], output))
    data = write_dataset(GenerateSpec(devices=3, hours=0.5, seed=6), tmp_path / "in.csv")
    frame = pd.read_csv(data.path)
    frame.loc[[30, 90], "temperature"] += 12.0  # two spikes: four jumps
    frame.to_csv(data.path, index=False)
    replay(settings, [data.path], source)

    result = run_job(settings, job)
    expected = run_job_on_rows(job, {source: data.path}, settings)[output]
    assert result.records_out == {output: len(expected)} and len(expected) > 0
    assert result.sources == (source,)
    assert result.late_records == 0
    assert (result.late_stream is not None) == (example == "vibration_peaks_5m.py")
