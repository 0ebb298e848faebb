"""NAB through the pipeline scores exactly as the offline benchmark, on a small NAB-layout folder
made here (so that the test needs nothing beside the repository)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.support import unique
from tidebox.cli.nab_pipeline import run_nab_pipeline
from tidebox.core.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.flink, pytest.mark.slow]


def nab_folder(root: Path) -> Path:
    """Three series of 1,200 rows in NAB's layout, each with a labelled burst; one repeats a
    stretch of timestamps, as NAB's machine_temperature file does where its clock stepped back."""
    rng = np.random.default_rng(4)
    windows = {}
    for number, category in enumerate(("realThings", "realThings", "artificialThings")):
        name = f"{category}/series_{number}.csv"
        stamps = pd.date_range("2014-01-01", periods=1200, freq="5min")
        if number == 1:  # the clock steps back an hour at row 700
            stamps = pd.DatetimeIndex([*stamps[:700], *(stamps[700:] - pd.Timedelta(hours=1))])
        values = 10 + np.sin(np.arange(1200) / 30) + rng.normal(0, 0.1, 1200)
        values[900:905] += 6
        path = root / "data" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        frame = pd.DataFrame({"timestamp": stamps.strftime("%Y-%m-%d %H:%M:%S"), "value": values})
        frame.to_csv(path, index=False)
        windows[name] = [[str(stamps[880]), str(stamps[930])]]
    (root / "labels").mkdir()
    (root / "labels" / "combined_windows.json").write_text(json.dumps(windows))
    return root


@pytest.mark.parametrize("preset", ["kinesis", "tuned"])
def test_the_pipeline_scores_as_the_offline_benchmark(
    kafka_settings: Settings, tmp_path: Path, preset: str
) -> None:
    folder = nab_folder(tmp_path / "nab")
    settings = kafka_settings.model_copy(update={"bucket": tmp_path / "bucket"})
    streams = (unique("nab_values"), unique("nab_scores"))
    run = run_nab_pipeline(settings, folder, preset, seed=3, streams=streams)
    assert run.rows == 3600 and run.files == 3
    assert run.equal, (run.pipeline, run.offline)
    assert run.pipeline[0].score != 0.0
