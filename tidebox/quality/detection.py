"""Detection quality of landed scores against landed labels: ``tidebox evaluate``.

Reads the named columns of a landed scores table (and of a labels table, or the same one) and
measures the alarms against the labelled events with :mod:`tidebox.anomaly.detection`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from tidebox.anomaly.detection import (
    DEFAULT_GRACE,
    DEFAULT_THRESHOLD,
    Detection,
    evaluate_alarms,
)
from tidebox.core.errors import ConfigError, QueryError
from tidebox.core.settings import Settings
from tidebox.lake.query import run_query
from tidebox.lake.sql import quote
from tidebox.lake.tables import find_table


@dataclass(frozen=True)
class EvaluateOptions:
    """Which columns hold what: names as in the landed tables."""

    labels: str | None = None  # the labels' table; None: the scores' table holds them
    key: str = "device_id"
    time: str = "event_time"
    alarm: str = "anomaly_grade"
    threshold: float = DEFAULT_THRESHOLD
    label: str = "is_anomaly"
    kind: str | None = "anomaly_type"
    grace: pd.Timedelta = DEFAULT_GRACE


def evaluate_landed(
    settings: Settings, scores: str, options: EvaluateOptions | None = None
) -> Detection:
    """Measure the alarms of landed table ``scores`` against labelled events."""
    options = options or EvaluateOptions()
    if options.grace < pd.Timedelta(0):
        raise ConfigError(f"grace is a time after each event, not {options.grace}")
    wanted = [options.key, options.time, options.alarm]
    labelled = [options.key, options.time, options.label] + ([options.kind] if options.kind else [])
    if options.labels is None:
        frame = _columns(settings, scores, list(dict.fromkeys(wanted + labelled)))
        return _evaluate(frame, None, options)
    return _evaluate(
        _columns(settings, scores, wanted), _columns(settings, options.labels, labelled), options
    )


def _evaluate(scores: pd.DataFrame, labels: pd.DataFrame | None, o: EvaluateOptions) -> Detection:
    return evaluate_alarms(
        scores, labels, o.key, o.time, o.alarm, o.threshold, o.label, o.kind, o.grace
    )


def _columns(settings: Settings, table: str, columns: list[str]) -> pd.DataFrame:
    """The columns of a landed table; a missing one is named in one line."""
    landed = find_table(settings, table)
    have = [name for name, _ in (*landed.columns, *landed.partition_keys)]
    missing = [c for c in columns if c not in have]
    if missing:
        raise QueryError(
            f"table {landed.name} has no column {', '.join(missing)} (it has {', '.join(have)})"
        )
    selected = ", ".join(quote(c) for c in columns)
    return run_query(settings, f"SELECT {selected} FROM {quote(landed.name)}").table.to_pandas()
