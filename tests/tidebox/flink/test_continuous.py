"""Continuous mode: a job and a sink that keep up with records arriving after they started."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from tests.support import readings_spec, wait_for, with_stream, write_config
from tests.support.jobs import isolated, running, start
from tidebox.core.settings import BufferingHints, Settings, default_sink
from tidebox.delivery.lock import live_path
from tidebox.streams.admin import create_stream, describe_stream
from tidebox.streams.generate import GenerateSpec, write_dataset
from tidebox.streams.replay import replay

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def process_tree(pid: int) -> set[int]:
    tree, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        children = Path(f"/proc/{parent}/task/{parent}/children")
        if children.exists():
            found = {int(c) for c in children.read_text().split()}
            frontier.extend(found - tree)
            tree |= found
    return tree


def open_ports_not_on_loopback(pid: int) -> list[str]:
    """Listening TCP sockets of a process tree bound to anything but 127.0.0.1 / ::1."""
    if shutil.which("ss") is None:
        pytest.skip("ss (iproute2) is not installed")
    pids = process_tree(pid)
    listing = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True).stdout
    wrong = []
    for line in listing.splitlines():
        owners = {int(p) for p in re.findall(r"pid=(\d+)", line)}
        local = line.split()[3]
        if owners & pids and not local.startswith(("127.0.0.1:", "[::ffff:127.0.0.1]:", "[::1]:")):
            wrong.append(local)
    return wrong


@pytest.mark.flink
def test_a_continuous_job_processes_records_that_arrive_later(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    settings, job, source, sink = isolated(kafka_settings, tmp_path, "live")
    create_stream(settings, source)

    command = ["job", "run", str(job), "--continuous", "--checkpoint-interval", "2"]
    process = start(command, settings, tmp_path)
    try:
        wait_for(lambda: running(settings, "live", process), 90, "the job to run")
        data = write_dataset(GenerateSpec(devices=2, hours=0.2), tmp_path / "late.csv")
        replay(settings, [data.path], source)  # sent while the job runs
        # all windows but the last per device close (the watermark trails the newest reading)
        wait_for(lambda: describe_stream(settings, sink).records >= 2 * 11, 90, "the windows")
        assert process.poll() is None  # still running: continuous
        assert open_ports_not_on_loopback(process.pid) == []
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "Traceback" not in err
    assert "job live was stopped after" in out and f"records to {sink}" in out


def test_a_continuous_sink_lands_new_records_and_flushes_on_sigterm(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    spec = readings_spec(kafka_settings, "live_landing")
    stream = spec.name
    settings = with_stream(kafka_settings, spec, bucket=tmp_path / "bucket")
    sink = default_sink(spec).model_copy(
        update={"buffering_hints": BufferingHints(interval_in_seconds=1)}
    )
    write_config(tmp_path, streams=[spec], sinks=[sink])
    create_stream(settings, stream)
    process = start(["sink", "run", stream], settings, tmp_path)
    try:
        first = write_dataset(GenerateSpec(devices=2, hours=0.1), tmp_path / "a.csv")
        replay(settings, [first.path], stream)
        folder = settings.bucket_path / stream
        wait_for(lambda: len(list(folder.rglob("*.parquet"))) >= 1, 60, "a first object")
        second = write_dataset(GenerateSpec(devices=3, hours=0.1, seed=9), tmp_path / "b.csv")
        replay(settings, [second.path], stream)
        total = first.rows + second.rows
        wait_for(lambda: consumed(settings, stream) >= total, 60, "the sink to read them all")
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert f"delivered {total:,} of {total:,} records" in out


def consumed(settings: Settings, sink: str) -> int:
    """Records a running sink has read (buffered or delivered), from the state it reports
    for ``tidebox sink status`` every second."""
    try:
        live = json.loads(live_path(settings, sink).read_text())
    except (OSError, ValueError):
        return 0
    return sum(live["positions"].values())
