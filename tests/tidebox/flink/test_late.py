"""Late records, replayed out of order into real Kafka: counted, routed aside, never lost."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from tests.support import committed_count, read_stream, unique, wait_for, with_stream
from tidebox.core.settings import SENSOR_COLUMNS, Settings, StreamSpec
from tidebox.flink.late import late_insert, on_time_view, uses_event_time
from tidebox.flink.runner import render_job_sql, run_job
from tidebox.streams.generate import GenerateSpec, write_dataset
from tidebox.streams.replay import ReplayOptions, replay
from tidebox.templates import DEMO_JOB

JOB = DEMO_JOB


def test_only_event_time_operators_route_late_records() -> None:
    assert uses_event_time(
        ["SELECT * FROM TABLE(TUMBLE(TABLE s, DESCRIPTOR(ts), INTERVAL '1' MINUTE))"]
    )
    assert uses_event_time(["SELECT avg(x) OVER (PARTITION BY k ORDER BY ts) FROM s"])
    assert not uses_event_time(["INSERT INTO out SELECT device_id, temperature FROM s"])
    spec = StreamSpec(name="s", time_field="ts", columns={"ts": "TIMESTAMP_LTZ(3)", "x": "INT"})
    view, insert = on_time_view(spec), late_insert(spec, "j_late")
    assert "`ts` > CURRENT_WATERMARK(`ts`)" in view and "FROM `s__all`" in view
    assert "`ts` <= CURRENT_WATERMARK(`ts`)" in insert and "INSERT INTO `j_late`" in insert


def read_all(settings: Settings, stream: str) -> list[dict[str, object]]:
    return [json.loads(record.value) for record in read_stream(settings, stream)]


def out_of_order_file(tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    """Readings in time order with five injected ones: three far behind (late), two just
    behind the newest reading but within the 5 s watermark bound (on time)."""
    data = write_dataset(
        GenerateSpec(devices=3, hours=0.5, interval_seconds=10, seed=8), tmp_path / "in.csv"
    )
    frame = pd.read_csv(data.path)
    frame["event_time"] = pd.to_datetime(frame["event_time"], utc=True)
    cut = len(frame) // 2
    now = frame["event_time"].iloc[cut - 1]
    injected = frame.iloc[[0, 1, 2, 3, 4]].copy()
    injected["device_id"] = "dev-late"
    offsets = [-600, -300, -120, -3, -2]  # seconds behind the newest reading
    injected["event_time"] = [now + pd.Timedelta(seconds=s) for s in offsets]
    injected["temperature"] = [1000.0, 1001.0, 1002.0, 1003.0, 1004.0]
    ordered = pd.concat([frame.iloc[:cut], injected, frame.iloc[cut:]], ignore_index=True)
    path = tmp_path / "out_of_order.csv"
    ordered.to_csv(path, index=False)
    return path, ordered


@pytest.mark.integration
@pytest.mark.flink
def test_late_records_go_to_the_late_stream_and_windows_keep_the_rest(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    source, sink = unique("ooo"), unique("stats")
    spec = StreamSpec(
        name=source,
        time_field="event_time",
        key_field="device_id",
        watermark_emit="on-event",  # which records are late depends only on their order
        columns=SENSOR_COLUMNS,
    )
    settings = with_stream(kafka_settings, spec)
    job = tmp_path / "late_job.sql"
    job.write_text(
        JOB.read_text().replace("sensor_readings", source).replace("device_stats_1m", sink)
    )
    path, ordered = out_of_order_file(tmp_path)
    replay(settings, [path], source, ReplayOptions(file_order=True))

    result = run_job(settings, job, bounded=True)

    assert result.late_stream == "late_job_late" and result.late_records == 3
    late = read_all(settings, result.late_stream)
    assert sorted(json.loads(r["data_row"])["temperature"] for r in late) == [
        1000.0,
        1001.0,
        1002.0,
    ]
    assert {r["error_name"] for r in late} == {"LATE_RECORD"} and {r["source"] for r in late} == {
        source
    }
    assert all("behind the watermark" in str(r["message"]) for r in late)

    on_time = ordered[~ordered["temperature"].isin([1000.0, 1001.0, 1002.0])]
    expected = (
        duckdb.connect()
        .register("on_time", on_time)
        .sql(
            "SELECT device_id, time_bucket(INTERVAL 1 MINUTE, event_time::TIMESTAMP) AS w, "
            "count(*) AS n, max(temperature) AS t FROM on_time GROUP BY ALL"
        )
        .fetchall()
    )
    windows = read_all(settings, sink)
    assert result.records_out == {sink: len(expected)}
    got = sorted((w["device_id"], w["readings"], w["temperature_max"]) for w in windows)
    assert got == sorted((d, n, t) for d, _, n, t in expected)
    assert sum(w["readings"] for w in windows) + result.late_records == len(ordered)


@pytest.mark.integration
@pytest.mark.flink
def test_the_late_filter_and_the_windows_share_one_source_scan(kafka_settings: Settings) -> None:
    """Two scans would each have their own watermark: a record could be late in one and not
    in the other, and be lost or counted twice."""
    from tidebox.flink.environment import make_table_env

    script = render_job_sql(kafka_settings, JOB, bounded=True)
    env, _ = make_table_env(kafka_settings, "explain", 1)
    statements = [s for s in script.split(";\n\n") if s.strip()]
    plan = env.create_statement_set()
    for statement in statements:
        statement = statement.rstrip(";\n")
        if statement.startswith("SET"):
            continue
        if statement.startswith("INSERT"):
            plan.add_insert_sql(statement)
        else:
            env.execute_sql(statement)
    explained = plan.explain()
    physical = explained.split("== Optimized Execution Plan ==")[-1]
    assert physical.count("TableSourceScan(") == 1, physical


@pytest.mark.integration
@pytest.mark.flink
@pytest.mark.slow
def test_an_idle_shard_does_not_hold_windows_back(kafka_settings: Settings, tmp_path: Path) -> None:
    """One device's readings all land in one of two shards; the other never gets a record.
    Without the idle timeout its watermark would stay at the start of time and no window of
    the continuous job would ever close."""
    import signal

    from tests.support.jobs import isolated, start_job
    from tidebox.streams.admin import create_stream, shard_offsets

    settings, job, source, sink = isolated(kafka_settings, tmp_path, "idle")
    create_stream(settings, source)
    data = write_dataset(GenerateSpec(devices=1, hours=0.3, seed=4), tmp_path / "one.csv")
    replay(settings, [data.path], source)
    assert sorted(hi for _, hi in shard_offsets(settings, source).values())[0] == 0  # one idle

    running = start_job(settings, job, tmp_path)
    try:

        def window_closed() -> bool:
            assert running.poll() is None, running.communicate()
            return committed_count(settings, sink) > 0

        wait_for(window_closed, 90, "a window to close (the idle shard would hold them back)")
    finally:
        running.send_signal(signal.SIGINT)
        running.communicate(timeout=60)
