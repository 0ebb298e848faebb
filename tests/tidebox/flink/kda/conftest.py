"""Running KDA SQL applications against the session's Kafka broker: records in with the
arrival times (Kafka timestamps) a test chooses, the output stream's records back."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support import TEST_STATE, produce, read_stream, unique, with_stream
from tidebox.core.clients import make_admin
from tidebox.core.settings import Settings, StreamSpec
from tidebox.flink.kda.job import KdaBinding
from tidebox.flink.runner import run_job

APPS = Path(__file__).parent / "apps"

Arrival = tuple[str, dict[str, Any]]  # ("2026-01-01T00:00:05Z", {"TICKER": "ABC", ...})
RunApp = Callable[[str, dict[str, str], list[Arrival]], list[dict[str, Any]]]


def epoch_ms(iso: str) -> int:
    return int(dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def arriving_when_told(settings: Settings, stream: str) -> None:
    """A one-shard stream whose records keep the timestamps their producer gives them
    (``CreateTime``), so a test sets each record's arrival time. tidebox's own streams stamp
    the broker's time (``LogAppendTime``, Kinesis' ApproximateArrivalTimestamp), which the
    runner reads the same way: only who chose the time differs. Records are kept whatever their
    age (``retention.ms`` -1): tests' times are fixed dates, and the broker's first retention
    check (30 s after it starts) would delete older ones before a slow job read them."""
    from kafka.admin import NewTopic

    admin = make_admin(settings)
    try:
        configs = {"message.timestamp.type": "CreateTime", "retention.ms": "-1"}
        admin.create_topics([NewTopic(stream, 1, 1, topic_configs=configs)])
    finally:
        admin.close()


def run_outputs(
    settings: Settings,
    tmp: Path,
    name: str,
    columns: dict[str, str],
    arrivals: list[Arrival],
    outputs: list[str],
) -> dict[str, list[dict[str, Any]]]:
    """Run ``apps/<name>.kda.sql`` (bounded) over records of the given columns, each arriving
    at its time; the records each of its ``outputs`` (in-application streams) received."""
    source = StreamSpec(name=unique("kda_in"), columns=columns)
    targets = {o: unique("kda_out") for o in outputs}
    # a state folder of its own (the job's checkpoints start empty), with the session's jars:
    # the connectors and tidebox's functions are fetched and compiled once, not per test
    state = tmp / "state"
    state.mkdir(exist_ok=True)
    if not (state / "jars").exists():
        (TEST_STATE / "jars").mkdir(parents=True, exist_ok=True)
        (state / "jars").symlink_to(TEST_STATE / "jars")
    settings = with_stream(settings, source, state_dir=state)
    arriving_when_told(settings, source.name)
    produce(
        settings,
        source.name,
        [json.dumps(record).encode() for _, record in arrivals],
        timestamps=[epoch_ms(at) for at, _ in arrivals],
    )
    run_job(settings, APPS / f"{name}.kda.sql", kda=KdaBinding(source.name, targets),
            late_stream="")  # fmt: skip
    return {o: [json.loads(r.value) for r in read_stream(settings, t)] for o, t in targets.items()}


@pytest.fixture
def run_app(kafka_settings: Settings, tmp_path: Path) -> RunApp:
    """``run_outputs`` for an application whose one output is DESTINATION_SQL_STREAM."""

    def run(name: str, columns: dict[str, str], arrivals: list[Arrival]) -> list[dict[str, Any]]:
        out = "DESTINATION_SQL_STREAM"
        return run_outputs(kafka_settings, tmp_path, name, columns, arrivals, [out])[out]

    return run
