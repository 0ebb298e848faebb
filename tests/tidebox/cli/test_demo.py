"""The main job end to end on the real runtime, and its numbers checked against the input."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from tests.support import TEST_STATE
from tidebox.anomaly.detection import find_events
from tidebox.cli.demo import run_demo
from tidebox.core.settings import Settings
from tidebox.lake.query import run_query
from tidebox.streams.generate import GenerateSpec

pytestmark = [pytest.mark.integration, pytest.mark.flink, pytest.mark.slow]


def open_report(report: Path, screenshot: Path) -> tuple[int, list[str]]:
    """Open the report in Debian's chromium with every network request refused; wait until
    its charts have drawn; return how many did and the page's script errors, and save a
    screenshot."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    assert chromium, "the report's test needs Debian's chromium (make browser)"
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1600})
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.route("http*://**", lambda route: route.abort())  # offline: no request leaves
            page.goto(report.as_uri())
            drawn = (  # charts with a line (a device's readings) or an image (the heat map)
                "[...document.querySelectorAll('.js-plotly-plot')].filter(p => p.querySelector("
                "'.scatterlayer path.js-line, .heatmaplayer image')).length"
            )
            page.wait_for_function(f"{drawn} > 0", timeout=60_000)
            plots = page.evaluate(drawn)
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot))
        finally:
            browser.close()
    return int(plots), errors


def test_demo_runs_every_stage_and_its_numbers_add_up(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    settings = kafka_settings.model_copy(
        update={"bucket": tmp_path / "bucket", "state_dir": kafka_settings.state_dir}
    )
    # 720 readings a device: the forests score once they hold 256
    spec = GenerateSpec(devices=4, hours=2, interval_seconds=10, seed=5, anomaly_rate=0.004)
    steps: list[str] = []
    summary = run_demo(settings, spec, say=steps.append)

    assert steps == [
        "up",
        "generate",
        "replay",
        "job",
        "score",
        "sink",
        "query",
        "check",
        "evaluate",
        "report",
    ]
    readings = spec.devices * 720
    assert summary.events_replayed == readings
    csv = settings.state_dir / "data" / "demo" / "sensor_readings.csv"
    windows = duckdb.sql(
        f"SELECT count(DISTINCT (device_id, time_bucket(INTERVAL 1 MINUTE, event_time))) "
        f"FROM read_csv('{csv}')"
    ).fetchone()
    assert windows is not None and summary.windows_computed == windows[0] == 4 * 120
    assert summary.readings_scored == readings
    assert summary.rows_landed == 2 * readings + summary.windows_computed
    assert summary.check.success and len(summary.check.outcomes) >= 8
    ruleset = summary.ruleset  # the same checks in DQDL, on the same landed readings
    assert ruleset.passed and len(ruleset.rules) == 21 and ruleset.score == 1.0
    assert len(summary.query_result) == 4 and summary.query_result[0]["windows"] == 120

    # the detection adds up: every labelled event is caught or missed, per kind
    labelled = find_events(
        pd.read_csv(csv), "device_id", "event_time", "is_anomaly", "anomaly_type"
    )
    detection = summary.detection
    assert detection.events == len(labelled) > 0
    assert sum(k.events for k in detection.kinds) == detection.events
    assert all(k.caught + k.missed == k.events for k in detection.kinds)
    assert sum(k.caught for k in detection.kinds) == detection.caught
    scored = run_query(
        settings,
        "SELECT count(anomaly_score) AS n, max(anomaly_score) AS top FROM device_anomaly_scores",
    ).table.to_pylist()[0]
    assert scored["n"] == readings and scored["top"] > 0  # past the warm-up, the forests score
    assert detection.hits + detection.false_alarms == detection.episodes

    assert summary.report.is_file()
    plots, errors = open_report(summary.report, TEST_STATE / "artifacts" / "demo-report.png")
    assert plots == spec.devices + 1  # one chart per device, and the windows' heat map
    assert errors == []

    landed = run_query(settings, "SELECT count(*) AS n FROM sensor_readings").table.to_pylist()
    assert landed == [{"n": readings}]

    again = run_demo(settings, spec)  # a second run reports on its own data, not both runs'
    assert (again.events_replayed, again.rows_landed) == (
        summary.events_replayed,
        summary.rows_landed,
    )
