"""Continuous mode: a job and a sink that keep up with records arriving after they started."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.support import TIDEBOX, cli_env, unique
from tidebox.core.settings import BufferingHints, Settings, default_sink
from tidebox.streams.admin import create_stream, describe_stream
from tidebox.streams.generate import GenerateSpec, write_dataset
from tidebox.streams.replay import replay
from tidebox.templates import DEMO_JOB

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def start(args: list[str], settings: Settings, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [TIDEBOX, *args],
        cwd=cwd,
        env=cli_env(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


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


def wait_for(condition: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.5)
    return False


@pytest.mark.flink
def test_a_continuous_job_processes_records_that_arrive_later(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    source, sink = unique("live_readings"), unique("live_stats")
    job = tmp_path / "live.sql"
    shipped = (DEMO_JOB).read_text()
    job.write_text(shipped.replace("sensor_readings", source).replace("device_stats_1m", sink))
    specs = []
    for spec in kafka_settings.streams:
        if spec.name in ("sensor_readings", "device_stats_1m"):
            new = source if spec.name == "sensor_readings" else sink
            specs.append(spec.model_copy(update={"name": new}))
    settings = kafka_settings.model_copy(update={"streams": tuple(specs)})
    (tmp_path / "tidebox.yaml").write_text(
        "streams:\n" + "".join(f"  - {s.model_dump_json()}\n" for s in specs)
    )
    create_stream(settings, source)

    command = ["job", "run", str(job), "--continuous", "--checkpoint-interval", "2"]
    running = start(command, settings, tmp_path)
    try:
        time.sleep(3)
        assert running.poll() is None, running.communicate()
        data = write_dataset(GenerateSpec(devices=2, hours=0.2), tmp_path / "late.csv")
        replay(settings, [data.path], source)  # sent while the job runs
        # all windows but the last per device close (the watermark trails the newest reading)
        assert wait_for(lambda: describe_stream(settings, sink).records >= 2 * 11, 90)
        assert running.poll() is None  # still running: continuous
        assert open_ports_not_on_loopback(running.pid) == []
    finally:
        running.send_signal(signal.SIGINT)
        out, err = running.communicate(timeout=60)
    assert running.returncode == 0, err
    assert "Traceback" not in err
    assert "job live was stopped after" in out and f"records to {sink}" in out


def test_a_continuous_sink_lands_new_records_and_flushes_on_sigterm(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    base = kafka_settings.stream("sensor_readings")
    assert base is not None
    stream = unique("live_landing")
    spec = base.model_copy(update={"name": stream})
    settings = kafka_settings.model_copy(
        update={"streams": (*kafka_settings.streams, spec), "bucket": tmp_path / "bucket"}
    )
    sink = default_sink(spec).model_copy(
        update={"buffering_hints": BufferingHints(interval_in_seconds=1)}
    )
    (tmp_path / "tidebox.yaml").write_text(
        f"streams:\n  - {spec.model_dump_json()}\nsinks:\n  - {sink.model_dump_json()}\n"
    )
    create_stream(settings, stream)
    running = start(["sink", "run", stream], settings, tmp_path)
    try:
        first = write_dataset(GenerateSpec(devices=2, hours=0.1), tmp_path / "a.csv")
        replay(settings, [first.path], stream)
        folder = settings.bucket_path / stream
        assert wait_for(lambda: len(list(folder.rglob("*.parquet"))) >= 1, 60)
        second = write_dataset(GenerateSpec(devices=3, hours=0.1, seed=9), tmp_path / "b.csv")
        replay(settings, [second.path], stream)
        time.sleep(0.5)
    finally:
        running.send_signal(signal.SIGTERM)
        out, err = running.communicate(timeout=60)
    assert running.returncode == 0, err
    assert f"delivered {first.rows + second.rows:,} of {first.rows + second.rows:,} records" in out
