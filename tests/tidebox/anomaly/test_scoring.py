"""Scoring a file: time order, Kinesis-shaped explanations, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.support import run_cli
from tidebox.anomaly import ForestError
from tidebox.anomaly.scoring import params_for, score_file
from tidebox.core.errors import InputFileError


def readings(path: Path, rows: int = 1200) -> Path:
    rng = np.random.default_rng(5)
    times = pd.date_range("2026-01-01", periods=rows, freq="min")
    frame = pd.DataFrame(
        {
            "ts": times.strftime("%Y-%m-%d %H:%M:%S"),
            "temp": 20 + np.sin(np.arange(rows) / 30) + rng.normal(0, 0.05, rows),
            "hum": 50 + rng.normal(0, 0.5, rows),
        }
    )
    if rows > 1000:
        frame.loc[1000, "temp"] += 8  # one hot reading
    frame = frame.sample(frac=1.0, random_state=1)  # the file is not in time order
    frame.to_csv(path, index=False)
    return path


def test_rows_are_scored_in_time_order_with_explanations(tmp_path: Path) -> None:
    source = readings(tmp_path / "in.csv")
    params = params_for("kinesis", 2, number_of_trees=40, sub_sample_size=64, seed=3)
    result = score_file(source, "ts", ["temp", "hum"], tmp_path / "out.csv", params)
    scored = pd.read_csv(result.path)
    assert list(scored.columns) == [
        "ts",
        "temp",
        "hum",
        "anomaly_score",
        "anomaly_grade",
        "anomaly_explanation",
    ]
    assert scored["ts"].is_monotonic_increasing and len(scored) == 1200
    hot = scored["anomaly_score"].idxmax()
    assert scored.loc[hot, "ts"] == "2026-01-01 16:40:00"  # minute 1000
    assert scored.loc[hot, "anomaly_grade"] > 0
    explanation = json.loads(scored.loc[hot, "anomaly_explanation"])
    assert explanation["temp"]["DIRECTION"] == "HIGH"
    shares = [float(explanation[c]["ATTRIBUTION_SCORE"]) for c in ("temp", "hum")]
    assert sum(shares) == pytest.approx(scored.loc[hot, "anomaly_score"], abs=1e-4)  # 4 decimals
    assert (scored["anomaly_grade"].between(0, 1)).all()


def test_bad_input_is_named(tmp_path: Path) -> None:
    source = readings(tmp_path / "in.csv", rows=50)
    with pytest.raises(InputFileError, match="no column"):
        score_file(source, "ts", ["pressure"], tmp_path / "o.csv")
    broken = tmp_path / "broken.csv"
    broken.write_text("ts,temp\n2026-01-01 00:00:00,1.0\n2026-01-01 00:01:00,warm\n")
    with pytest.raises(InputFileError, match=r"broken\.csv:3: 'temp' is not a finite number"):
        score_file(broken, "ts", ["temp"], tmp_path / "o.csv")
    with pytest.raises(ForestError, match="unknown preset"):
        params_for("fast", 1)


def test_the_tuned_preset_grades_the_one_event_far_above_the_rest(tmp_path: Path) -> None:
    source = readings(tmp_path / "in.csv")
    params = params_for("tuned", 2, number_of_trees=40, sub_sample_size=64, seed=3)
    assert params.time_decay == 5000  # the tuned preset's forest
    result = score_file(source, "ts", ["temp", "hum"], tmp_path / "out.csv", params, "tuned")
    scored = pd.read_csv(result.path).set_index("ts")["anomaly_grade"]
    hot = scored.pop("2026-01-01 16:40:00")  # the hot reading
    assert hot > 2 * scored.max() and hot > 0.3  # far above anything else
    assert (scored > 0).sum() <= 0.02 * len(scored)  # a few rows top their last 50, faintly
    assert (scored <= 1).all()


def test_the_command(tmp_path: Path) -> None:
    source = readings(tmp_path / "in.csv", rows=400)
    args = ["anomaly", "score", str(source), "--time-field", "ts", "--columns", "temp"]
    done = run_cli([*args, "--out", str(tmp_path / "o.parquet"), "--trees", "20"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "scored 400 rows" in done.stdout and (tmp_path / "o.parquet").exists()
    bad = run_cli([*args, "--out", str(tmp_path / "o.csv"), "--sample-size", "5"], tmp_path)
    assert bad.returncode == 1 and "subSampleSize must be between 10 and 1000" in bad.stderr
