"""The main job: the whole pipeline once, end to end, on whatever runtime the settings name.

up → generate → replay → Flink jobs (1-minute windows; RANDOM_CUT_FOREST per device) → land the
three streams as Parquet → query → check (a Great Expectations suite, and the same checks as a
DQDL ruleset) → measure the alarms against the generator's labels.
The demo owns the streams ``sensor_readings``, ``device_stats_1m`` and ``device_anomaly_scores``
and their landed tables: it empties them first, so that every run reports on its own data.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tidebox.anomaly.detection import Detection
from tidebox.core.settings import Settings
from tidebox.delivery.runner import drop_sink, run_sink
from tidebox.flink.runner import run_job
from tidebox.lake.query import run_query
from tidebox.quality.detection import evaluate_landed
from tidebox.quality.dqdl.evaluate import run_ruleset
from tidebox.quality.landed import check_table
from tidebox.quality.results import QualityResult
from tidebox.quality.suites import CheckResult
from tidebox.report import write_report
from tidebox.report.gather import WINDOWS_QUERY
from tidebox.runtime import start_broker
from tidebox.streams.admin import recreate_stream
from tidebox.streams.generate import GenerateSpec, write_dataset
from tidebox.streams.replay import replay
from tidebox.templates import DEMO_JOB, DEMO_SCORING_JOB, DEMO_SUITES

SOURCE, STATS, SCORES = "sensor_readings", "device_stats_1m", "device_anomaly_scores"
SUITE_FILE = DEMO_SUITES / f"{SOURCE}.json"  # the demo's own, whatever the project's says
RULESET_FILE = DEMO_SUITES / f"{SOURCE}.dqdl"  # the same checks in DQDL (Glue Data Quality)
DEMO_QUERY = WINDOWS_QUERY  # the report shows it too


@dataclass(frozen=True)
class DemoSummary:
    events_replayed: int
    anomalies_labelled: int
    windows_computed: int
    readings_scored: int
    files_landed: int
    rows_landed: int
    query: str
    query_result: list[dict[str, Any]]
    check: CheckResult
    ruleset: QualityResult
    detection: Detection
    report: Path
    seconds: float
    step_seconds: dict[str, float]


def reset_demo_streams(settings: Settings) -> None:
    """Empty the demo streams: recreate them, and forget their sink offsets and landed tables."""
    for stream in (SOURCE, STATS, SCORES):
        recreate_stream(settings, stream)
        drop_sink(settings, stream)


def run_demo(
    settings: Settings,
    spec: GenerateSpec | None = None,
    say: Callable[[str], None] = lambda _: None,
) -> DemoSummary:
    """Run every stage once and summarise what each produced."""
    spec = spec or GenerateSpec()
    steps: dict[str, float] = {}
    started = time.monotonic()

    def step(name: str) -> Callable[[], None]:
        say(name)
        begun = time.monotonic()
        return lambda: steps.__setitem__(name, time.monotonic() - begun)

    done = step("up")
    if settings.embedded:
        start_broker(settings)
    reset_demo_streams(settings)
    done()

    done = step("generate")
    data = write_dataset(spec, settings.state_dir / "data" / "demo" / "sensor_readings.csv")
    done()

    done = step("replay")
    replayed = replay(settings, [data.path], SOURCE)
    done()

    done = step("job")
    job = run_job(settings, DEMO_JOB, bounded=True, restore="none")
    done()

    done = step("score")
    scored = run_job(settings, DEMO_SCORING_JOB, bounded=True, restore="none")
    done()

    done = step("sink")
    landed = [run_sink(settings, stream) for stream in (SOURCE, STATS, SCORES)]
    done()

    done = step("query")
    query = run_query(settings, DEMO_QUERY)
    rows = query.table.to_pylist()
    done()

    done = step("check")
    check = check_table(settings, SOURCE, suite_file=SUITE_FILE)
    ruleset = run_ruleset(settings, RULESET_FILE, SOURCE)
    done()

    done = step("evaluate")
    detection = evaluate_landed(settings, SCORES)
    done()

    done = step("report")
    run = {
        "readings replayed": f"{replayed.events:,} ({data.anomalies:,} labelled anomalous)",
        "1-minute windows": f"{job.records_out.get(STATS, 0):,}",
        "readings scored": f"{scored.records_out.get(SCORES, 0):,}",
        "landed": f"{sum(r.rows_landed for r in landed):,} rows in "
        f"{sum(len(r.files) for r in landed)} files",
        "checks passed": f"{sum(o.success for o in check.outcomes)}/{len(check.outcomes)}",
        "ruleset passed": f"{ruleset.count('PASS')}/{len(ruleset.rules)} "
        f"(score {ruleset.score:.2f})",
        "time so far": f"{time.monotonic() - started:.1f} s",
    }
    report = write_report(settings, run=run, check=check, query=query)
    done()

    return DemoSummary(
        events_replayed=replayed.events,
        anomalies_labelled=data.anomalies,
        windows_computed=job.records_out.get(STATS, 0),
        readings_scored=scored.records_out.get(SCORES, 0),
        files_landed=sum(len(r.files) for r in landed),
        rows_landed=sum(r.rows_landed for r in landed),
        query=DEMO_QUERY,
        query_result=rows,
        check=check,
        ruleset=ruleset,
        detection=detection,
        report=report,
        seconds=time.monotonic() - started,
        step_seconds=steps,
    )
