"""Score a recorded file row by row in time order, exactly as the streaming job would.

Output columns: the time field as given, the input columns, ``anomaly_score`` (Kinesis
Analytics' ANOMALY_SCORE scale), ``anomaly_grade`` in [0, 1], and ``anomaly_explanation`` in
RANDOM_CUT_FOREST_WITH_EXPLANATION's shape as Kinesis Analytics writes it: per column
``{"DIRECTION":"HIGH"|"LOW","STRENGTH":"0.9200","ATTRIBUTION_SCORE":"1.7447"}``, numbers as
strings with 4 decimals, no spaces; ATTRIBUTION_SCORE is the column's share of the score (the
shares add up to it, within their rounding) and STRENGTH the share of that attribution lying in
DIRECTION (0.5: both ways alike, 1: all one way).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tidebox.anomaly._fdlibm import log2
from tidebox.anomaly.forest import ForestError, ForestParams, RandomCutForest
from tidebox.anomaly.threshold import Thresholder
from tidebox.core.errors import InputFileError
from tidebox.core.records import file_format, line_of, parse_times, read_records

PRESETS: dict[str, dict[str, int]] = {
    # RANDOM_CUT_FOREST's own defaults
    "kinesis": {},
    # a forest that forgets: its sample spans about the last 5000 rows (see TUNED_THRESHOLD)
    "tuned": {"time_decay": 5000},
}
# Grades of the tuned preset, chosen on the NAB subset in ../shared/nab (see README and
# bench/nab_presets.py): a score is an alarm only if it tops every score of the last 50 rows
# (one event, one alarm), graded on Kinesis' NAB scale (score / log2(subSampleSize)) times the
# square of its rarity among the key's last 8640 scores (30 days of 5-minute readings, the window
# of NAB's anomaly likelihood).
TUNED_THRESHOLD: dict[str, int] = {"suppression": 50, "rarity": 8640}
# The tuned grade at which a row is an alarm: NAB's best threshold for the standard profile on
# the 35 files (seed 0; `tidebox bench nab --preset tuned`). Faint grades below it are rows
# that merely top their last 50; the demo and `tidebox evaluate` count alarms from here.
ALARM_GRADE = 0.165


def thresholder_for(preset: str, params: ForestParams) -> Thresholder:
    """The grading of a preset: the plain adaptive threshold, or the tuned one.

    The tuned scale is fdlibm's log2 (as the forest's own), which Java's port
    (``Thresholder.forPreset``) computes identically: ``math.log2`` may differ in the last bit.
    """
    if preset == "tuned":
        return Thresholder(
            suppression=TUNED_THRESHOLD["suppression"],
            scale=float(log2(float(params.sub_sample_size))),
            rarity=TUNED_THRESHOLD["rarity"],
        )
    return Thresholder()


@dataclass(frozen=True)
class ScoreResult:
    path: Path
    rows: int
    anomalies: int  # rows with a grade above zero
    max_score: float


def explain(columns: list[str], high: np.ndarray, low: np.ndarray) -> str:
    """One row's explanation as Kinesis Analytics writes it (its developer guide's example:
    ``{"Systolic":{"DIRECTION":"LOW","STRENGTH":"0.0922","ATTRIBUTION_SCORE":"0.3792"}}``)."""
    parts = {}
    for name, up, down in zip(columns, high.tolist(), low.tolist(), strict=True):
        total = up + down
        parts[name] = {
            "DIRECTION": "HIGH" if up >= down else "LOW",
            "STRENGTH": decimals(max(up, down) / total if total > 0 else 0.0),
            "ATTRIBUTION_SCORE": decimals(total),
        }
    return json.dumps(parts, separators=(",", ":"))


def decimals(x: float) -> str:
    """``x`` with 4 decimals, as Kinesis writes an explanation's numbers (rounded half to even
    from the exact binary value, as Java's ``Explanation.decimals`` does)."""
    return f"{x:.4f}"


def score_file(
    source: str | Path,
    time_field: str,
    columns: list[str],
    out: str | Path,
    params: ForestParams | None = None,
    preset: str = "kinesis",
) -> ScoreResult:
    """Score ``columns`` of ``source`` in time order and write the scored rows to ``out``."""
    source, out = Path(source), Path(out)
    out_format = file_format(out)
    frame = read_records(source)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputFileError(str(source), f"no column(s) {', '.join(missing)}")
    times = parse_times(frame, time_field, source)
    order = np.argsort(times.to_numpy(), kind="stable")
    values = np.empty((len(frame), len(columns)))
    for j, column in enumerate(columns):
        numbers = pd.to_numeric(frame[column], errors="coerce")
        bad = numbers.isna() | ~np.isfinite(numbers.fillna(0))
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0])
            raise InputFileError(
                str(source),
                f"'{column}' is not a finite number: {frame[column].iloc[row]!r}",
                line=line_of(frame, source, row),
            )
        values[:, j] = numbers.to_numpy(dtype=np.float64)

    params = params or ForestParams(columns=len(columns))
    forest = RandomCutForest(params)
    ordered = values[order]
    scores, high, low = forest.score_and_update(ordered, attribution=True)
    if high is None or low is None:  # cannot happen with attribution=True; keeps types exact
        raise ForestError("the forest returned no attribution")
    thresholder = thresholder_for(preset, params)
    grades = np.array([thresholder.grade_and_update(float(s)) for s in scores])

    result = frame.iloc[order][[time_field, *columns]].reset_index(drop=True)
    result["anomaly_score"] = scores
    result["anomaly_grade"] = grades
    result["anomaly_explanation"] = [
        explain(columns, h, lo) for h, lo in zip(high, low, strict=True)
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    if out_format == "csv":
        result.to_csv(out, index=False)
    elif out_format == "parquet":
        result.to_parquet(out, index=False)
    else:
        result.to_json(out, orient="records", lines=True, date_format="iso")
    return ScoreResult(out, len(result), int((grades > 0).sum()), float(scores.max(initial=0.0)))


def params_for(preset: str, columns: int, **overrides: int | None) -> ForestParams:
    """Forest parameters of a preset, with any explicitly given ones taking precedence."""
    if preset not in PRESETS:
        raise ForestError(f"unknown preset '{preset}': use {', '.join(PRESETS)}", "preset")
    chosen = {**PRESETS[preset], **{k: v for k, v in overrides.items() if v is not None}}
    return ForestParams(columns=columns, **chosen)
