"""RANDOM_CUT_FOREST in job SQL: scores equal to the offline forest's, bit for bit, on a user's
own stream; one forest per key or one for the whole input; errors that name the argument."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.support import TEST_STATE
from tidebox.anomaly.forest import ForestParams, RandomCutForest
from tidebox.anomaly.scoring import explain, thresholder_for
from tidebox.core.errors import JobError
from tidebox.core.settings import Settings, StreamSpec
from tidebox.flink.harness import run_job_on_rows

pytestmark = [pytest.mark.flink]

PUMPS = StreamSpec(
    name="pumps",
    time_field="read_at",
    key_field="pump_id",
    columns={
        "pump_id": "STRING",
        "read_at": "TIMESTAMP_LTZ(3)",
        "flow": "DOUBLE",
        "rpm": "INT",
        "site": "STRING",
    },
)


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings(state_dir=TEST_STATE, streams=(PUMPS,))


def pump_rows(pumps: int = 2, rows: int = 300, seed: int = 3) -> pd.DataFrame:
    """Readings of a few pumps, one per second each at distinct times, with two spikes."""
    rng = np.random.default_rng(seed)
    frames = []
    for p in range(pumps):
        flow = 50 + np.cumsum(rng.normal(0, 0.5, rows))
        flow[rows // 2] += 40
        times = pd.Timestamp("2024-05-01", tz="UTC") + pd.to_timedelta(
            np.arange(rows) * 1000 + p * 7, unit="ms"
        )
        frames.append(
            pd.DataFrame(
                {
                    "pump_id": f"pump-{p}",
                    "read_at": times,
                    "flow": flow,
                    "rpm": rng.integers(1400, 1500, rows),
                    "site": "north",
                }
            )
        )
    return pd.concat(frames).sample(frac=1.0, random_state=seed)  # the job orders them


def test_the_keyed_form_scores_each_key_as_its_own_offline_forest(settings: Settings) -> None:
    frame = pump_rows()
    sql = """
    INSERT INTO pump_scores
    SELECT pump_id, read_at, flow, rpm, site, ANOMALY_SCORE AS score, ANOMALY_GRADE AS grade,
           ANOMALY_EXPLANATION AS why
    FROM RANDOM_CUT_FOREST_WITH_EXPLANATION(
      input => TABLE pumps PARTITION BY pump_id,
      on_time => DESCRIPTOR(read_at),
      number_of_trees => 40, sub_sample_size => 64, time_decay => 2000, shingle_size => 2,
      with_directionality => TRUE,
      grade => 'tuned',
      seed => 11)
    """
    rows = run_job_on_rows(sql, {"pumps": frame}, settings=settings)["pump_scores"]

    assert len(rows) == len(frame)
    params = ForestParams(
        columns=2, number_of_trees=40, sub_sample_size=64, time_decay=2000, shingle_size=2, seed=11
    )
    for pump, readings in frame.groupby("pump_id"):
        readings = readings.sort_values("read_at")
        forest = RandomCutForest(params)
        scores, high, low = forest.score_and_update(
            readings[["flow", "rpm"]].to_numpy(dtype=float), attribution=True
        )
        assert high is not None and low is not None
        grading = thresholder_for("tuned", params)
        got = sorted((r for r in rows if r["pump_id"] == pump), key=lambda r: r["read_at"])
        assert [r["score"] for r in got] == scores.tolist()  # bit for bit
        assert [r["grade"] for r in got] == [grading.grade_and_update(s) for s in scores]
        want = [
            json.loads(explain(["flow", "rpm"], h, lo)) for h, lo in zip(high, low, strict=True)
        ]
        assert [json.loads(r["why"]) for r in got] == want
        assert max(scores) > 2 * float(np.median(scores[64:]))  # the spike stands out


def test_the_kinesis_form_scores_the_whole_input_with_one_forest(settings: Settings) -> None:
    frame = pump_rows(pumps=2, rows=200)
    sql = """
    INSERT INTO pump_scores
    SELECT STREAM * FROM TABLE(RANDOM_CUT_FOREST(
      CURSOR(SELECT STREAM pump_id, read_at, flow, rpm FROM "pumps"), 30, 50, 1000))
    """
    rows = run_job_on_rows(sql, {"pumps": frame}, settings=settings)["pump_scores"]

    assert list(rows[0]) == ["pump_id", "read_at", "flow", "rpm", "ANOMALY_SCORE"]
    ordered = frame.sort_values("read_at")
    forest = RandomCutForest(
        ForestParams(columns=2, number_of_trees=30, sub_sample_size=50, time_decay=1000)
    )
    scores, _, _ = forest.score_and_update(ordered[["flow", "rpm"]].to_numpy(dtype=float))
    got = sorted(rows, key=lambda r: r["read_at"])
    assert [r["ANOMALY_SCORE"] for r in got] == scores.tolist()


def test_without_directionality_the_explanation_has_attributions_only(settings: Settings) -> None:
    frame = pump_rows(pumps=1, rows=60)
    sql = """
    INSERT INTO pump_scores
    SELECT STREAM * FROM TABLE(RANDOM_CUT_FOREST_WITH_EXPLANATION(
      CURSOR(SELECT STREAM read_at, flow, rpm FROM "pumps"), 20, 20, 1000, 1))
    """
    rows = run_job_on_rows(sql, {"pumps": frame}, settings=settings)["pump_scores"]
    params = ForestParams(columns=2, number_of_trees=20, sub_sample_size=20, time_decay=1000)
    forest = RandomCutForest(params)
    ordered = frame.sort_values("read_at")[["flow", "rpm"]].to_numpy(dtype=float)
    _, high, low = forest.score_and_update(ordered, attribution=True)
    assert high is not None and low is not None
    for row, up, down in zip(rows, high, low, strict=True):
        full = json.loads(explain(["flow", "rpm"], up, down))
        want = {column: {"ATTRIBUTION_SCORE": v["ATTRIBUTION_SCORE"]} for column, v in full.items()}
        assert json.loads(row["ANOMALY_EXPLANATION"]) == want


def test_a_null_in_a_scored_column_passes_through_unscored(settings: Settings) -> None:
    frame = pump_rows(pumps=1, rows=40)
    frame.loc[frame.index[5], "flow"] = None
    sql = """
    INSERT INTO pump_scores
    SELECT read_at, flow, ANOMALY_SCORE AS score FROM RANDOM_CUT_FOREST(
      input => TABLE pumps, on_time => DESCRIPTOR(read_at), columns => DESCRIPTOR(flow),
      sub_sample_size => 10)
    """
    rows = run_job_on_rows(sql, {"pumps": frame}, settings=settings)["pump_scores"]
    assert len(rows) == 40
    assert [r["score"] for r in rows if r["flow"] is None] == [None]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ("columns => DESCRIPTOR(pressure)", r"columns names 'pressure', which the input does"),
        ("columns => DESCRIPTOR(site)", r"column 'site' is STRING, not a number"),
        ("number_of_trees => 0", r"numberOfTrees must be between 1 and 1000, got 0"),
        ("sub_sample_size => 5000", r"subSampleSize must be between 10 and 1000, got 5000"),
        ("shingle_size => 31", r"shingleSize must be between 1 and 30, got 31"),
        ("time_decay => 100", r"subSampleSize \(256\) must be below timeDecay \(100\)"),
        ("grade => 'best'", r"grade must be 'kinesis' or 'tuned', got 'best'"),
    ],
)
def test_a_bad_argument_is_one_line_naming_it(settings: Settings, call: str, message: str) -> None:
    sql = f"""
    INSERT INTO pump_scores SELECT * FROM RANDOM_CUT_FOREST(
      input => TABLE pumps PARTITION BY pump_id, on_time => DESCRIPTOR(read_at), {call})
    """
    with pytest.raises(JobError, match=message) as raised:
        run_job_on_rows(sql, {"pumps": pump_rows(rows=5)}, settings=settings)
    assert "\n" not in str(raised.value)


def test_more_than_thirty_columns_are_refused(settings: Settings) -> None:
    wide = StreamSpec(
        name="wide",
        time_field="ts",
        columns={"ts": "TIMESTAMP_LTZ(3)", **{f"c{i}": "DOUBLE" for i in range(31)}},
    )
    own = settings.model_copy(update={"streams": (wide,)})
    sql = """INSERT INTO wide_scores SELECT * FROM RANDOM_CUT_FOREST(
      input => TABLE wide, on_time => DESCRIPTOR(ts))"""
    row = {"ts": "2024-05-01T00:00:00Z", **{f"c{i}": 1.0 for i in range(31)}}
    with pytest.raises(JobError, match=r"at most 30 columns can be scored, got 31"):
        run_job_on_rows(sql, {"wide": [row]}, settings=own)


def test_a_cursor_without_event_time_is_refused(settings: Settings) -> None:
    sql = """INSERT INTO pump_scores SELECT * FROM TABLE(RANDOM_CUT_FOREST(
      CURSOR(SELECT STREAM flow, rpm FROM pumps)))"""
    with pytest.raises(JobError, match=r"CURSOR's query has no event-time attribute"):
        run_job_on_rows(sql, {"pumps": pump_rows(rows=5)}, settings=settings)


def test_a_call_without_event_time_is_told_to_name_on_time(settings: Settings) -> None:
    sql = """INSERT INTO pump_scores SELECT * FROM RANDOM_CUT_FOREST(
      input => TABLE pumps PARTITION BY pump_id)"""
    with pytest.raises(JobError, match=r"requires a time attribute.*on_time => DESCRIPTOR"):
        run_job_on_rows(sql, {"pumps": pump_rows(rows=5)}, settings=settings)


def test_a_python_job_calls_the_function_through_the_table_api(
    settings: Settings, tmp_path: Path
) -> None:
    job = tmp_path / "pump_forest.py"
    job.write_text(
        '''"""Scores "pumps" from Python: the Table API runs the same SQL function."""
from pyflink.table import StreamTableEnvironment, Table


def build(env: StreamTableEnvironment) -> dict[str, Table]:
    scored = env.sql_query(
        "SELECT pump_id, read_at, ANOMALY_SCORE AS score FROM RANDOM_CUT_FOREST("
        "input => TABLE pumps PARTITION BY pump_id, on_time => DESCRIPTOR(read_at), "
        "columns => DESCRIPTOR(flow), sub_sample_size => 10)"
    )
    return {"pump_scores": scored}
'''
    )
    frame = pump_rows(pumps=2, rows=30)
    rows = run_job_on_rows(job, {"pumps": frame}, settings=settings)["pump_scores"]
    assert len(rows) == 60
    forest = RandomCutForest(ForestParams(columns=1, sub_sample_size=10))
    first = frame[frame.pump_id == "pump-0"].sort_values("read_at")
    scores, _, _ = forest.score_and_update(first[["flow"]].to_numpy())
    got = sorted((r for r in rows if r["pump_id"] == "pump-0"), key=lambda r: r["read_at"])
    assert [r["score"] for r in got] == scores.tolist()


def test_job_parameters_reach_the_function(settings: Settings) -> None:
    """``tidebox.rcf.*`` settings are job parameters; the benchmark's no-op scorer shows they
    arrive (every score 0, the rows still ordered and passed through)."""
    sql = """
    SET 'pipeline.global-job-parameters' = 'tidebox.rcf.no-op-scorer:true';
    INSERT INTO pump_scores
    SELECT read_at, ANOMALY_SCORE AS score FROM RANDOM_CUT_FOREST(
      input => TABLE pumps, on_time => DESCRIPTOR(read_at), sub_sample_size => 10)
    """
    rows = run_job_on_rows(sql, {"pumps": pump_rows(rows=30)}, settings=settings)["pump_scores"]
    assert len(rows) == 60 and {r["score"] for r in rows} == {0.0}
    assert [r["read_at"] for r in rows] == sorted(r["read_at"] for r in rows)


def test_job_sql_renders_a_forest_job_as_a_self_contained_script(
    settings: Settings, tmp_path: Path
) -> None:
    """``tidebox job sql`` of a job in Kinesis' form: the functions' jar loaded by the script
    itself, the cursor a view, the call in Flink's form; Flink plans the script as it is."""
    from tidebox.flink.environment import make_table_env
    from tidebox.flink.runner import render_job_sql

    job = tmp_path / "pump_forest.sql"
    job.write_text(
        "INSERT INTO pump_scores SELECT STREAM * FROM TABLE(RANDOM_CUT_FOREST("
        'CURSOR(SELECT STREAM read_at, flow, rpm FROM "pumps"), 50))'
    )
    scores = StreamSpec(
        name="pump_scores",
        columns={
            "read_at": "TIMESTAMP_LTZ(3)",
            "flow": "DOUBLE",
            "rpm": "INT",
            "ANOMALY_SCORE": "DOUBLE",
        },
    )
    own = settings.model_copy(update={"streams": (*settings.streams, scores)})
    script = render_job_sql(own, job)
    assert "LANGUAGE JAVA USING JAR 'file:" in script
    assert (
        "CREATE TEMPORARY VIEW `__rcf_cursor_1` AS SELECT read_at, flow, rpm FROM `pumps`" in script
    )
    assert "number_of_trees => 50" in script and "CURSOR" not in script

    env, _ = make_table_env(own, "explain", 1)
    plan = env.create_statement_set()
    for statement in [s.rstrip(";\n") for s in script.split(";\n\n") if s.strip()]:
        if statement.startswith("INSERT"):
            plan.add_insert_sql(statement)
        elif not statement.startswith("SET"):
            env.execute_sql(statement)
    assert "ProcessTableFunction" in plan.explain()


def test_a_stream_whose_time_is_a_timestamp_without_zone(settings: Settings) -> None:
    """A time column declared TIMESTAMP(3) (not _LTZ) reads and scores like any other."""
    local = PUMPS.model_copy(
        update={"name": "pumps_local", "columns": {**PUMPS.columns, "read_at": "TIMESTAMP(3)"}}
    )
    own = settings.model_copy(update={"streams": (local,)})
    frame = pump_rows(pumps=1, rows=40)
    sql = """INSERT INTO local_scores SELECT read_at, ANOMALY_SCORE AS score FROM RANDOM_CUT_FOREST(
      input => TABLE pumps_local, on_time => DESCRIPTOR(read_at), columns => DESCRIPTOR(flow),
      sub_sample_size => 10)"""
    rows = run_job_on_rows(sql, {"pumps_local": frame}, settings=own)["local_scores"]
    ordered = frame.sort_values("read_at")
    scores, _, _ = RandomCutForest(ForestParams(sub_sample_size=10)).score_and_update(
        ordered[["flow"]].to_numpy()
    )
    assert [r["score"] for r in rows] == scores.tolist()
    assert rows[0]["read_at"].isoformat() == ordered["read_at"].iloc[0].strftime(
        "%Y-%m-%dT%H:%M:%S"
    )
