"""What the report shows, read back from what landed: scores, windows, checks, files, scans.

Everything comes from the landed tables and the catalog, so ``tidebox report`` can write the
report again at any time after a run, and the demo writes it with the same code.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from tidebox.anomaly.detection import Detection, Event, evaluate_alarms, find_events
from tidebox.core.settings import Settings
from tidebox.lake.query import QueryResult, run_query
from tidebox.lake.sql import quote
from tidebox.lake.tables import TableDescription, describe_table
from tidebox.quality.landed import check_table
from tidebox.quality.suites import CheckResult

SCORES, STATS, READINGS = "device_anomaly_scores", "device_stats_1m", "sensor_readings"
WINDOWS_QUERY = (
    "SELECT device_id, COUNT(*) AS windows, ROUND(MAX(vibration_max), 2) AS peak_vibration, "
    "ROUND(AVG(temperature_avg), 2) AS mean_temperature "
    "FROM device_stats_1m GROUP BY device_id ORDER BY peak_vibration DESC LIMIT 5"
)


@dataclass(frozen=True)
class ReportData:
    scores: pd.DataFrame  # every scored reading: values, labels, score, grade
    windows: pd.DataFrame  # the 1-minute window statistics
    events: list[Event]
    detection: Detection
    check: CheckResult
    landed: list[TableDescription]
    query: QueryResult


def gather(
    settings: Settings, check: CheckResult | None = None, query: QueryResult | None = None
) -> ReportData:
    """Read the demo's landed tables and measure them (a table not landed is one line).
    ``check`` and ``query``, when the caller has just run them, are not run again."""
    scores = _table(settings, SCORES).sort_values(["device_id", "event_time"])
    windows = _table(settings, STATS).sort_values(["device_id", "window_start"])
    return ReportData(
        scores=scores,
        windows=windows,
        events=find_events(scores, "device_id", "event_time", "is_anomaly", "anomaly_type"),
        detection=evaluate_alarms(scores),  # as `tidebox evaluate` measures the table
        check=check or check_table(settings, READINGS),
        landed=[describe_table(settings, name) for name in (READINGS, STATS, SCORES)],
        query=query or run_query(settings, WINDOWS_QUERY),
    )


def _table(settings: Settings, name: str) -> pd.DataFrame:
    return run_query(settings, f"SELECT * FROM {quote(name)}").table.to_pandas()
