"""NAB through the whole pipeline: replay, RANDOM_CUT_FOREST in a SQL job, landing, NAB scoring.

Each file of a NAB-layout folder is one key of one stream (``nab_values``: file, at, row,
timestamp, value); a bounded SQL job scores it with one forest per file and writes
``nab_scores``; a delivery stream lands that as Parquet; the landed rows, per file in order,
are scored with NAB's rules. The figures must equal the offline ``tidebox bench
nab`` ones for the same preset and seed: that is what shows the streaming path is the offline
detector.

NAB scores a file's rows in file order, and its timestamps do not always rise (one file steps
back 55 minutes where a clock changed), so the stream's event time ``at`` is the row's position
(2000-01-01 plus one second per row); the file's own timestamp travels along as text.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tidebox.anomaly.forest import ForestError, ForestParams
from tidebox.anomaly.nab import (
    DETECTORS,
    PROFILES,
    LabelledSeries,
    ProfileScore,
    evaluate,
    kinesis_values,
    load_corpus,
    score_profile,
)
from tidebox.core.settings import BufferingHints, Settings, SinkSpec, StreamSpec
from tidebox.delivery.runner import drop_sink, run_sink
from tidebox.flink.runner import run_job
from tidebox.lake.query import run_query
from tidebox.runtime import start_broker
from tidebox.streams.admin import recreate_stream
from tidebox.streams.replay import replay

VALUES, SCORES = "nab_values", "nab_scores"
EPOCH = pd.Timestamp("2000-01-01", tz="UTC")
COLUMNS = {
    "file": "STRING",
    "at": "TIMESTAMP_LTZ(3)",
    "row": "BIGINT",
    "timestamp": "STRING",
    "value": "DOUBLE",
}
# the grade the SQL function computes for each preset ('kinesis' is scored on ANOMALY_SCORE)
FUNCTION_GRADE = {"kinesis": "kinesis", "tuned": "tuned"}
JOB = """INSERT INTO `{scores}`
SELECT `file`, `at`, `row`, `timestamp`, `value`, ANOMALY_SCORE AS score,
  ANOMALY_GRADE AS grade
FROM RANDOM_CUT_FOREST(
  input => TABLE `{values}` PARTITION BY `file`,
  on_time => DESCRIPTOR(`at`),
  columns => DESCRIPTOR(`value`),
  grade => '{grade}',
  seed => {seed},
  uid => 'nab_forests'
)
"""


def stream_specs(values: str, scores: str) -> tuple[StreamSpec, StreamSpec, SinkSpec]:
    """The values stream, the scores stream, and the scores' delivery stream: one folder, no
    time partitions (NAB's files span years, thousands of hours)."""
    values_spec = StreamSpec(
        name=values, shards=2, time_field="at", key_field="file", columns=COLUMNS
    )
    scores_spec = StreamSpec(
        name=scores,
        shards=2,
        time_field="at",
        key_field="file",
        columns={**COLUMNS, "score": "DOUBLE", "grade": "DOUBLE"},
    )
    sink = SinkSpec(
        name=scores,
        stream=scores,
        prefix=f"{scores}/",
        error_output_prefix=f"_errors/{scores}/!{{firehose:error-output-type}}/",
        buffering_hints=BufferingHints(size_in_mbs=128, interval_in_seconds=900),
    )
    return values_spec, scores_spec, sink


@dataclass(frozen=True)
class PipelineRun:
    files: int
    rows: int
    seconds: float
    step_seconds: dict[str, float]
    pipeline: list[ProfileScore]
    offline: list[ProfileScore]

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    @property
    def equal(self) -> bool:
        """The pipeline's figures are the offline ones, threshold and all."""
        return all(
            (a.profile, a.score, a.threshold) == (b.profile, b.score, b.threshold)
            for a, b in zip(self.pipeline, self.offline, strict=True)
        )


def run_nab_pipeline(
    settings: Settings,
    folder: str | Path,
    preset: str = "kinesis",
    seed: int = 0,
    streams: tuple[str, str] = (VALUES, SCORES),
) -> PipelineRun:
    """Run a NAB folder through the pipeline and offline; return both sets of figures.
    ``streams`` names the values and the scores streams (emptied first)."""
    if preset not in FUNCTION_GRADE:
        raise ForestError(f"unknown preset '{preset}': use {', '.join(FUNCTION_GRADE)}", "preset")
    corpus = load_corpus(folder)
    values, scores = streams
    values_spec, scores_spec, sink = stream_specs(values, scores)
    settings = settings.model_copy(
        update={
            "streams": (*settings.streams, values_spec, scores_spec),
            "sinks": (*[s for s in settings.sinks if s.name != scores], sink),
        }
    )
    work = settings.state_dir / "bench" / "nab"
    work.mkdir(parents=True, exist_ok=True)
    steps: dict[str, float] = {}
    started = time.monotonic()

    begun = time.monotonic()
    if settings.embedded:
        start_broker(settings)
    for stream in streams:
        recreate_stream(settings, stream)
        drop_sink(settings, stream)
    paths = _write_values(corpus, work)
    rows = replay(settings, paths, values).events
    steps["replay"] = time.monotonic() - begun

    begun = time.monotonic()
    job = work / f"{scores}.sql"
    job.write_text(
        JOB.format(values=values, scores=scores, grade=FUNCTION_GRADE[preset], seed=int(seed))
    )
    run_job(settings, job, bounded=True, restore="none", late_stream="")
    steps["job"] = time.monotonic() - begun

    begun = time.monotonic()
    run_sink(settings, sink)
    landed = run_query(
        settings, f'SELECT file, score, grade FROM "{scores}" ORDER BY file, row'
    ).table.to_pandas()
    steps["land"] = time.monotonic() - begun

    begun = time.monotonic()
    detections = _detections(landed, corpus, preset, seed)
    pipeline = [score_profile(corpus, detections, profile) for profile in PROFILES]
    steps["score"] = time.monotonic() - begun
    seconds = time.monotonic() - started
    offline = evaluate(corpus, DETECTORS[preset](seed))
    return PipelineRun(len(corpus), rows, seconds, steps, pipeline, offline)


def _write_values(corpus: list[LabelledSeries], folder: Path) -> list[Path]:
    """One CSV per file, its name as the key, its rows' positions as event time."""
    paths = []
    for number, series in enumerate(corpus):
        path = folder / f"values-{number:03d}.csv"
        pd.DataFrame(
            {
                "file": series.name,
                "at": (EPOCH + pd.to_timedelta(np.arange(len(series.values)), unit="s")).strftime(
                    "%Y-%m-%dT%H:%M:%S.000Z"
                ),
                "row": np.arange(len(series.values)),
                "timestamp": pd.to_datetime(series.timestamps).dt.strftime("%Y-%m-%d %H:%M:%S"),
                "value": series.values,
            }
        ).to_csv(path, index=False)
        paths.append(path)
    return paths


def _detections(
    landed: pd.DataFrame, corpus: list[LabelledSeries], preset: str, seed: int
) -> dict[str, np.ndarray]:
    """Each file's detector values from the landed rows, as the offline detector makes them:
    the tuned grade, or Kinesis' ANOMALY_SCORE / log2(subSampleSize) capped at 1."""
    params = ForestParams(seed=seed)
    found = {}
    for series in corpus:
        rows = landed[landed["file"] == series.name]
        if len(rows) != len(series.values):
            raise ForestError(
                f"{series.name}: {len(rows)} rows landed of {len(series.values)} replayed"
            )
        if preset == "kinesis":
            found[series.name] = kinesis_values(rows["score"].to_numpy(), params)
        else:
            found[series.name] = rows["grade"].to_numpy(dtype=np.float64)
    return found
