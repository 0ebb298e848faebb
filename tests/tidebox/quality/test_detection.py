"""``tidebox evaluate`` on landed tables: a user's own scores against labels in another table."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from tests.support import cli_env, land, run_cli
from tidebox.core.settings import Settings, StreamSpec
from tidebox.quality.detection import EvaluateOptions, evaluate_landed

START = pd.Timestamp("2024-01-01T00:00:00Z")
SCORES = StreamSpec(
    name="my_scores",
    time_field="ts",
    columns={"host": "STRING", "ts": "TIMESTAMP_LTZ(3)", "alarm": "DOUBLE"},
)
LABELS = StreamSpec(
    name="my_labels",
    time_field="ts",
    columns={"host": "STRING", "ts": "TIMESTAMP_LTZ(3)", "bad": "BOOLEAN"},
)


def records(rows: list[dict[str, object]]) -> list[bytes]:
    return [json.dumps(row).encode() for row in rows]


def landed(tmp_path: Path) -> Settings:
    """A host that fails at rows 10-14 (caught at 12) and 100 (missed), one false alarm at 150."""
    settings = Settings(state_dir=tmp_path, bucket=tmp_path / "bucket", streams=(SCORES, LABELS))
    times = [
        (START + pd.Timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:%S.000Z") for i in range(200)
    ]
    alarms = {12, 150}
    bad = set(range(10, 15)) | {100}
    land(
        settings.bucket_path,
        SCORES,
        records(
            [
                {"host": "h1", "ts": t, "alarm": 1.0 if i in alarms else 0.0}
                for i, t in enumerate(times)
            ]
        ),
        settings=settings,
    )
    land(
        settings.bucket_path,
        LABELS,
        records([{"host": "h1", "ts": t, "bad": i in bad} for i, t in enumerate(times)]),
        settings=settings,
    )
    return settings


def test_scores_are_measured_against_labels_of_another_table(tmp_path: Path) -> None:
    settings = landed(tmp_path)
    options = EvaluateOptions(
        labels="my_labels", key="host", time="ts", alarm="alarm", label="bad", kind=None
    )
    result = evaluate_landed(settings, "my_scores", options)
    assert (result.events, result.caught, result.episodes, result.false_alarms) == (2, 1, 2, 1)
    assert result.delays_s == (120.0,)


def test_the_command_prints_the_measures_and_names_a_missing_column(tmp_path: Path) -> None:
    settings = landed(tmp_path)
    env = cli_env(TIDEBOX_STATE_DIR=str(tmp_path), TIDEBOX_BUCKET=str(settings.bucket_path))
    args = ["evaluate", "my_scores", "--labels", "my_labels", "--key", "host", "--time", "ts"]
    done = run_cli([*args, "--alarm", "alarm", "--label", "bad", "--kind", ""], tmp_path, env)
    assert done.returncode == 0, done.stderr
    assert "recall 0.500  precision 0.500  F1 0.500" in done.stdout
    assert "median 120 s" in done.stdout
    wrong = run_cli([*args, "--alarm", "grade", "--label", "bad", "--kind", ""], tmp_path, env)
    assert wrong.returncode == 1
    assert wrong.stderr.strip() == (
        "error: table my_scores has no column grade (it has host, ts, alarm, dt, hour)"
    )


def test_the_commands_default_threshold_is_the_tuned_alarm_grade() -> None:
    import inspect

    from tidebox.anomaly.scoring import ALARM_GRADE
    from tidebox.cli.app import evaluate

    default = inspect.signature(evaluate).parameters["threshold"].default.default
    assert default == ALARM_GRADE == EvaluateOptions().threshold
