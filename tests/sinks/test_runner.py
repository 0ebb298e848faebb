"""Landing a real stream: every replayed record lands once, across restarts and lost offsets."""

from __future__ import annotations

from pathlib import Path

import pytest

from producers.generate import GenerateSpec, write_dataset
from producers.replay import replay
from sinks.parquet import ParquetSink
from sinks.runner import run_sink, sink_group
from tests.conftest import TIDEBOX, cli_env, unique, with_stream
from tidebox.clients import make_admin
from tidebox.config import Settings
from tidebox.errors import StreamNotFoundError
from tidebox.query import run_query
from tidebox.streams import describe_stream

pytestmark = pytest.mark.integration


def landed_stream(settings: Settings, tmp_path: Path) -> tuple[Settings, str]:
    base = settings.stream("sensor_readings")
    assert base is not None
    name = unique("landing")
    spec = base.model_copy(update={"name": name, "shards": 2})
    return with_stream(settings, spec, bucket=tmp_path / "bucket"), name


def counts(settings: Settings, stream: str) -> tuple[int, int]:
    """(rows, distinct (device_id, event_time)) landed for the stream."""
    row = run_query(
        settings,
        f"SELECT count(*) AS n, count(DISTINCT (device_id, event_time)) AS u FROM {stream}",
    ).table.to_pylist()[0]
    return row["n"], row["u"]


def test_landed_rows_equal_replayed_rows_exactly_once(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    settings, stream = landed_stream(kafka_settings, tmp_path)
    first = write_dataset(GenerateSpec(devices=3, hours=2, interval_seconds=30), tmp_path / "a.csv")
    replay(settings, [first.path], stream)

    result = run_sink(settings, stream, batch_records=100)
    assert result.rows_landed == first.rows
    assert counts(settings, stream) == (first.rows, first.rows)
    hours = sorted(p.name for p in (settings.bucket_path / stream).glob("dt=*/hour=*"))
    assert hours == ["hour=00", "hour=01"]
    assert not list((settings.bucket_path / stream).rglob(".*"))  # no temporary files left

    assert run_sink(settings, stream).rows_landed == 0  # caught up: nothing landed twice

    more = write_dataset(
        GenerateSpec(devices=3, hours=1, interval_seconds=30, start=first.end.replace(hour=5)),
        tmp_path / "b.csv",
    )
    replay(settings, [more.path], stream)
    assert run_sink(settings, stream).rows_landed == more.rows
    assert counts(settings, stream) == (first.rows + more.rows,) * 2


def test_files_on_disk_win_over_lost_offsets(kafka_settings: Settings, tmp_path: Path) -> None:
    """A crash between landing files and committing offsets must not land those records again."""
    settings, stream = landed_stream(kafka_settings, tmp_path)
    data = write_dataset(GenerateSpec(devices=2, hours=1, interval_seconds=20), tmp_path / "a.csv")
    replay(settings, [data.path], stream)
    run_sink(settings, stream)

    admin = make_admin(settings)
    admin.delete_groups([sink_group(stream)])  # the committed offsets are gone
    admin.close()
    assert run_sink(settings, stream).rows_landed == 0
    assert counts(settings, stream) == (data.rows, data.rows)


def test_records_that_are_not_json_go_to_the_error_output(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    from tidebox.clients import make_producer
    from tidebox.streams import create_stream

    settings, stream = landed_stream(kafka_settings, tmp_path)
    create_stream(settings, stream, shards=1)
    producer = make_producer(settings)
    producer.send(stream, value=b'{"device_id": "d1", "event_time": "2026-01-01T00:00:00.000Z"}')
    producer.send(stream, value=b"not json at all")
    producer.flush()
    producer.close()
    result = run_sink(settings, stream)
    assert (result.rows_landed, result.errors) == (1, 1)
    errors = list((settings.bucket_path / "_errors" / stream).glob("*.jsonl"))
    assert len(errors) == 1 and "not json at all" in errors[0].read_text()
    assert run_sink(settings, stream).records_in == 0  # the bad record is not retried forever


def test_an_unknown_stream_is_a_clear_error(kafka_settings: Settings) -> None:
    with pytest.raises(StreamNotFoundError, match="nope_stream"):
        run_sink(kafka_settings, "nope_stream")


@pytest.mark.slow
def test_a_sink_killed_at_random_moments_lands_every_record_once(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    import random
    import signal
    import subprocess
    import time

    settings, stream = landed_stream(kafka_settings, tmp_path)
    data = write_dataset(GenerateSpec(devices=10, hours=8, interval_seconds=10), tmp_path / "a.csv")
    replay(settings, [data.path], stream)
    assert describe_stream(settings, stream).records == data.rows
    (tmp_path / "tidebox.yaml").write_text(
        f"streams:\n  - {settings.stream(stream).model_dump_json()}\n"
    )  # type: ignore[union-attr]
    env = cli_env(settings)
    command = [TIDEBOX, "sink", "run", "--stream", stream]
    command += ["--batch-records", "997", "--flush-seconds", "0.3"]
    rng = random.Random(20261121)
    progress = []
    for _ in range(5):
        running = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL)
        time.sleep(rng.uniform(1.2, 3.0))
        running.send_signal(signal.SIGKILL)
        running.wait()
        landed = ParquetSink(settings.bucket_path, stream).landed_offsets()
        progress.append(sum(landed.values()))
    assert any(0 < p < data.rows for p in progress), progress  # killed mid-stream
    run_sink(settings, stream)  # and finish, after the last kill

    assert counts(settings, stream) == (data.rows, data.rows)
    leftovers = [p for p in (settings.bucket_path / stream).rglob("*") if p.name.startswith(".")]
    assert leftovers == []


def test_a_recreated_stream_is_named_and_lands_again_once_dropped(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    from tidebox.errors import TideboxError
    from tidebox.streams import recreate_stream

    settings, stream = landed_stream(kafka_settings, tmp_path)
    big = write_dataset(GenerateSpec(devices=2, hours=1), tmp_path / "big.csv")
    replay(settings, [big.path], stream)
    run_sink(settings, stream)

    recreate_stream(settings, stream)
    small = write_dataset(GenerateSpec(devices=1, hours=0.5), tmp_path / "small.csv")
    replay(settings, [small.path], stream)
    with pytest.raises(TideboxError, match="was recreated"):
        run_sink(settings, stream)

    ParquetSink(settings.bucket_path, stream).drop()
    assert run_sink(settings, stream).rows_landed == small.rows
    assert counts(settings, stream) == (small.rows, small.rows)
