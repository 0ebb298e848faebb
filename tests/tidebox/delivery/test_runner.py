"""Delivery streams against the real broker: exactly the replayed rows land, whatever happens."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from tests.support import (
    TIDEBOX,
    cli_env,
    produce,
    readings_spec,
    unique,
    wait_for,
    with_stream,
    write_config,
)
from tidebox.core.clients import make_admin
from tidebox.core.errors import StreamNotFoundError, TideboxError
from tidebox.core.settings import Settings, SinkSpec, StreamSpec
from tidebox.delivery.lock import SinkRunningError
from tidebox.delivery.runner import run_sink, sink_group
from tidebox.delivery.specs import SinkNotFoundError
from tidebox.lake.query import run_query
from tidebox.streams.admin import create_stream, recreate_stream
from tidebox.streams.generate import GenerateSpec, write_dataset
from tidebox.streams.replay import replay

pytestmark = pytest.mark.integration


def readings_stream(settings: Settings, tmp_path: Path) -> tuple[Settings, StreamSpec]:
    """Settings declaring a new stream shaped like sensor_readings, with a bucket of the test's
    own; and the stream."""
    spec = readings_spec(settings, "landing", shards=2)
    return with_stream(settings, spec, bucket=tmp_path / "bucket"), spec


def counts(settings: Settings, stream: str) -> tuple[int, int]:
    """(rows, distinct (device_id, event_time)) landed for the stream."""
    row = run_query(
        settings,
        f"SELECT count(*) AS n, count(DISTINCT (device_id, event_time)) AS u FROM {stream}",
    ).table.to_pylist()[0]
    return row["n"], row["u"]


def test_the_default_delivery_lands_replayed_rows_once_by_event_hour(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    settings, spec = readings_stream(kafka_settings, tmp_path)
    stream = spec.name
    first = write_dataset(GenerateSpec(devices=3, hours=2, interval_seconds=30), tmp_path / "a.csv")
    replay(settings, [first.path], stream)

    result = run_sink(settings, stream)
    assert (result.records_in, result.records_out, result.records_failed) == (first.rows,) * 2 + (
        0,
    )
    assert counts(settings, stream) == (first.rows, first.rows)
    hours = sorted(p.name for p in (settings.bucket_path / stream).glob("dt=*/hour=*"))
    assert hours == ["hour=00", "hour=01"]
    assert not list(settings.bucket_path.rglob(".*.tmp"))

    assert run_sink(settings, stream).records_in == 0  # caught up: nothing delivered twice
    more = write_dataset(
        GenerateSpec(devices=3, hours=1, interval_seconds=30, start=first.end.replace(hour=5)),
        tmp_path / "b.csv",
    )
    replay(settings, [more.path], stream)
    assert run_sink(settings, stream).records_out == more.rows
    assert counts(settings, stream) == (first.rows + more.rows,) * 2


def test_the_size_hint_cuts_objects(kafka_settings: Settings, tmp_path: Path) -> None:
    settings, spec = readings_stream(kafka_settings, tmp_path)
    stream = spec.name
    create_stream(settings, stream, shards=1)
    values = [
        json.dumps({"device_id": "d1", "event_time": f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}Z"})
        for i in range(200)
    ]
    produce(settings, stream, [v.encode() for v in values])
    size = sum(len(v) for v in values[:50])
    spec = SinkSpec(
        name=stream,
        stream=stream,
        prefix="sized/",
        buffering_hints={"size_in_bytes": size, "interval_in_seconds": 900},
    )
    result = run_sink(settings, spec)  # a spec, not a name looked up again
    rows = [o.rows for o in result.files]
    assert sum(rows) == 200 and len(rows) >= 4
    assert all(r >= 50 for r in rows[:-1])  # each was cut once its buffer reached the hint


def test_interval_flushes_status_and_sigterm_flush(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    settings, spec = readings_stream(kafka_settings, tmp_path)
    stream = spec.name
    create_stream(settings, stream, shards=1)
    every_second = {
        "name": "every_second",
        "stream": stream,
        "prefix": "ticks/",
        "buffering_hints": {"interval_in_seconds": 1},
    }
    write_config(tmp_path, streams=[spec], sinks=[every_second])
    env = cli_env(settings)
    running = subprocess.Popen(
        [TIDEBOX, "sink", "run", "every_second"], cwd=tmp_path, env=env, stderr=subprocess.PIPE
    )
    try:
        reading = b'{"device_id": "d1", "event_time": "2026-01-01T00:00:00Z"}'
        produce(settings, stream, [reading] * 10)
        objects = wait_for_objects(settings.bucket_path / "ticks", 1)
        produce(settings, stream, [reading] * 5)
        wait_for_objects(settings.bucket_path / "ticks", 2)
        status = subprocess.run(
            [TIDEBOX, "sink", "status", "every_second"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
        )
        assert status.returncode == 0, status.stderr
        assert f"running (pid {running.pid})" in status.stdout
        assert "records out" in status.stdout and "15" in status.stdout
        assert "lag" in status.stdout
        assert len(objects) >= 1
    finally:
        running.send_signal(signal.SIGTERM)
        assert running.wait(30) == 0
    stopped = subprocess.run(
        [TIDEBOX, "sink", "status", "every_second"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert "not running" in stopped.stdout


def wait_for_objects(folder: Path, count: int, timeout: float = 20) -> list[Path]:
    def enough() -> bool:
        return len(list(folder.rglob("*.parquet"))) >= count

    wait_for(enough, timeout, f"{count} objects under {folder}")
    return sorted(folder.rglob("*.parquet"))


def test_two_delivery_streams_of_one_stream_run_at_once(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    settings, spec = readings_stream(kafka_settings, tmp_path)
    stream = spec.name
    data = write_dataset(GenerateSpec(devices=4, hours=2, interval_seconds=20), tmp_path / "a.csv")
    replay(settings, [data.path], stream)
    sinks = [
        {"name": f"{stream}_a", "stream": stream, "prefix": "a/"},
        {"name": f"{stream}_b", "stream": stream, "prefix": "b/!{timestamp:yyyy}/"},
    ]
    write_config(tmp_path, streams=[spec], sinks=sinks)
    env = cli_env(settings)
    runs = [
        subprocess.Popen(
            [TIDEBOX, "sink", "run", s["name"], "--until-caught-up"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for s in sinks
    ]
    outputs = [r.communicate(timeout=120) for r in runs]
    assert [r.returncode for r in runs] == [0, 0], outputs
    for folder in ("a", "b"):
        files = list((settings.bucket_path / folder).rglob("*.parquet"))
        assert sum(pq.read_metadata(f).num_rows for f in files) == data.rows
    admin = make_admin(settings)
    try:
        groups = {g["group_id"] for g in admin.list_groups()}
    finally:
        admin.close()
    assert {sink_group(s["name"]) for s in sinks} <= groups


def test_one_process_at_a_time_and_a_clean_stop_delivers_the_buffer(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    from tidebox.delivery.status import sink_status

    settings, spec = readings_stream(kafka_settings, tmp_path)
    stream = spec.name
    create_stream(settings, stream, shards=1)
    write_config(tmp_path, streams=[spec])
    env = cli_env(settings)
    running = subprocess.Popen(
        [TIDEBOX, "sink", "run", stream], cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        reading = b'{"device_id": "d1", "event_time": "2026-01-01T00:00:00Z"}'
        produce(settings, stream, [reading] * 7)
        wait_for(  # Firehose's 300 s, 128 MB: buffered, not delivered
            lambda: sink_status(settings, stream).buffered_records >= 7, 20, "7 buffered records"
        )
        status = sink_status(settings, stream)
        assert status.running and status.pid == running.pid and status.buffered_bytes > 0
        assert status.records_out == 0 and status.lag == 7
        with pytest.raises(SinkRunningError, match=f"already running \\(pid {running.pid}\\)"):
            run_sink(settings, stream)
    finally:
        running.send_signal(signal.SIGTERM)
        out, _ = running.communicate(timeout=30)
    assert running.returncode == 0
    assert "delivered 7 of 7 records" in out  # the buffer was delivered before stopping
    stopped = sink_status(settings, stream)
    assert not stopped.running and stopped.records_out == 7 and stopped.lag == 0


def test_on_a_thread_a_stop_event_delivers_the_buffer_and_start_at_skips_older_records(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    import threading

    from tidebox.delivery.status import sink_status

    settings, spec = readings_stream(kafka_settings, tmp_path)
    stream = spec.name
    create_stream(settings, stream, shards=1)
    older = b'{"device_id": "old", "event_time": "2026-01-01T00:00:00Z"}'
    newer = b'{"device_id": "new", "event_time": "2026-01-01T00:00:00Z"}'
    produce(settings, stream, [older] * 4)
    sink = SinkSpec(name=stream, stream=stream, prefix="threaded/", schema_table=stream)
    stop, running = threading.Event(), threading.Event()
    results: list[Any] = []
    thread = threading.Thread(
        target=lambda: results.append(
            run_sink(settings, sink, False, stop=stop, running=running.set, start_at={0: 4})
        )
    )
    thread.start()
    try:
        assert running.wait(30)
        produce(settings, stream, [newer] * 3)
        wait_for(
            lambda: sink_status(settings, sink).buffered_records >= 3, 20, "3 buffered records"
        )
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()
    assert (results[0].records_in, results[0].records_out) == (3, 3)
    rows = run_query(settings, f"SELECT device_id FROM {stream}").table.to_pylist()
    assert rows == [{"device_id": "new"}] * 3


def test_unknown_names_are_clear_errors(kafka_settings: Settings) -> None:
    with pytest.raises(SinkNotFoundError, match="unknown delivery stream 'nope_sink'"):
        run_sink(kafka_settings, "nope_sink")
    ghost = StreamSpec(name="ghost_stream", columns={"x": "STRING"})
    with pytest.raises(StreamNotFoundError, match="ghost_stream"):
        run_sink(with_stream(kafka_settings, ghost), "ghost_stream")


def test_a_recreated_stream_is_named_and_delivers_again_once_dropped(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    from tidebox.delivery.runner import drop_sink

    settings, spec = readings_stream(kafka_settings, tmp_path)
    stream = spec.name
    big = write_dataset(GenerateSpec(devices=2, hours=1), tmp_path / "big.csv")
    replay(settings, [big.path], stream)
    run_sink(settings, stream)

    recreate_stream(settings, stream)
    small = write_dataset(GenerateSpec(devices=1, hours=0.5), tmp_path / "small.csv")
    replay(settings, [small.path], stream)
    with pytest.raises(TideboxError, match="was recreated"):
        run_sink(settings, stream)

    assert drop_sink(settings, stream) > 0
    assert run_sink(settings, stream).records_out == small.rows
    assert counts(settings, stream) == (small.rows, small.rows)


def kill_test_sink(stream: StreamSpec, destination: str | None, size: int) -> dict[str, Any]:
    sink: dict[str, Any] = {
        "name": "killed",
        "stream": stream.name,
        "prefix": "killed/dt=!{timestamp:yyyy-MM-dd}/",
        "error_output_prefix": "killed_errors/",
        "buffering_hints": {"size_in_bytes": size, "interval_in_seconds": 1},
    }
    if destination:
        sink["destination"] = destination
    return sink


def kill_repeatedly(
    settings: Settings, tmp_path: Path, store: Any, total: int, env: dict[str, str]
) -> list[int]:
    """SIGKILL ``tidebox sink run killed`` 10 times at random moments of its delivery, checking
    after each that every object a reader can see is whole; then let it finish."""
    import random

    rng = random.Random(20261121)
    seen = []
    for _ in range(10):
        before = delivered_in(store)
        running = subprocess.Popen(
            [TIDEBOX, "sink", "run", "killed"], cwd=tmp_path, env=env, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 30
        while delivered_in(store) == before and before < total and time.monotonic() < deadline:
            time.sleep(0.01)  # until it delivers something: then it is mid-stream
        time.sleep(rng.uniform(0, 0.25))
        running.send_signal(signal.SIGKILL)
        running.wait()
        seen.append(delivered_in(store))
        for key, _ in store.list("killed/"):
            assert not key.rsplit("/", 1)[-1].startswith("."), key
            pq.read_metadata(store_file(store, key))  # whole, readable Parquet
    final = subprocess.run(
        [TIDEBOX, "sink", "run", "killed", "--until-caught-up"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert final.returncode == 0, final.stderr
    return seen


def delivered_in(store: Any) -> int:
    from tidebox.delivery.ledger import read_state, state_key

    state = read_state(store, state_key("killed"))
    return sum(s["records_in"] for s in state.get("shards", {}).values())


def store_file(store: Any, key: str) -> Any:
    import io

    return io.BytesIO(store.get(key))


def landed_ids(store: Any) -> list[int]:
    ids: list[int] = []
    for key, _ in store.list("killed/"):
        ids += pq.read_table(store_file(store, key), columns=["record_id"]).column(0).to_pylist()
    return ids


def run_kill_test(settings: Settings, tmp_path: Path, destination: str | None, store: Any) -> None:
    stream = StreamSpec(
        name=unique("killed"),
        shards=2,
        columns={"record_id": "BIGINT", "device_id": "STRING", "payload": "STRING"},
    )
    settings = with_stream(settings, stream, bucket=tmp_path / "bucket")
    create_stream(settings, stream.name)
    total = 200_000
    values = [
        json.dumps({"record_id": i, "device_id": f"d{i % 50:03d}", "payload": "x" * 120}).encode()
        for i in range(total)
    ]
    produce(settings, stream.name, values, keys=[f"d{i % 50}".encode() for i in range(total)])
    size = 500_000 if destination else 150_000  # fewer, larger objects on the slower S3 server
    write_config(tmp_path, streams=[stream], sinks=[kill_test_sink(stream, destination, size)])
    env = cli_env(settings)
    if destination:
        env["TIDEBOX_S3_ENDPOINT"] = settings.s3_endpoint or ""

    seen = kill_repeatedly(settings, tmp_path, store, total, env)

    assert sum(0 < s < total for s in seen) >= 5, seen  # most kills came mid-stream
    ids = landed_ids(store)
    assert len(ids) == total and set(ids) == set(range(total))  # none missing, none twice
    assert delivered_in(store) == total


@pytest.mark.slow
def test_killed_ten_times_every_record_lands_once_locally(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    from tidebox.core.stores import LocalStore

    store = LocalStore(tmp_path / "bucket")
    run_kill_test(kafka_settings, tmp_path, None, store)
    assert not list((tmp_path / "bucket").rglob(".*.tmp"))
    settings = kafka_settings.model_copy(update={"bucket": tmp_path / "bucket"})
    rows = run_query(settings, "SELECT count(*) AS n, count(DISTINCT record_id) AS u FROM killed")
    assert rows.table.to_pylist() == [{"n": 200_000, "u": 200_000}]


@pytest.mark.slow
def test_killed_ten_times_every_record_lands_once_on_s3(
    kafka_settings: Settings, tmp_path: Path, s3_endpoint: str
) -> None:
    from tests.support import make_bucket
    from tidebox.core.stores import open_store

    bucket = make_bucket(s3_endpoint)
    destination = f"s3://{bucket}/lake"
    store = open_store(destination, s3_endpoint)
    settings = kafka_settings.model_copy(update={"s3_endpoint": s3_endpoint})
    run_kill_test(settings, tmp_path, destination, store)
