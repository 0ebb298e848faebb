"""Random cut forest anomaly scores per device: Kinesis Data Analytics' RANDOM_CUT_FOREST (and
_WITH_EXPLANATION) as a PyFlink job, one forest per device held in Flink keyed state.

Every reading of ``sensor_readings`` comes out on ``device_anomaly_scores`` with
``anomaly_score`` (ANOMALY_SCORE's scale), ``anomaly_grade`` in [0, 1] and, with
``explain=true``, ``anomaly_explanation``. Parameters (``--param key=value`` or ``params:`` of
the job in tidebox.yaml): ``columns`` (default the four sensors), ``preset`` (kinesis, tuned),
``explain``, ``trees``, ``sample_size``, ``time_decay``, ``shingle_size``, ``seed``, and
``batch_seconds`` (default 60).

Why batches: a forest of 100 trees x 256 points is about 1.4 MB of state, and a Python keyed
function costs a state round trip per call. So readings are first gathered per device into
event-time windows of ``batch_seconds`` (Flink SQL, ARRAY_AGG), and each window's readings are
scored in one call, in event-time order, exactly as ``tidebox anomaly score`` scores a file.
The forest and its threshold are written back to keyed state after every batch, so a job
restored from a checkpoint continues with exactly the forest an uninterrupted run has.
Readings with a missing value in a scored column pass through unscored (NULL scores).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
from pyflink.common import Row, Types, WatermarkStrategy
from pyflink.datastream import KeyedProcessFunction, RuntimeContext
from pyflink.datastream.state import ValueStateDescriptor
from pyflink.table import StreamTableEnvironment, Table

from tidebox.anomaly.forest import ForestParams, RandomCutForest
from tidebox.anomaly.scoring import explain as explanation
from tidebox.anomaly.scoring import params_for, thresholder_for
from tidebox.anomaly.threshold import Thresholder
from tidebox.core.errors import JobError
from tidebox.core.settings import SENSOR_COLUMNS, SENSORS

SOURCE, OUTPUT = "sensor_readings", "device_anomaly_scores"
_FLINK_TYPES = {
    "STRING": Types.STRING(),
    "DOUBLE": Types.DOUBLE(),
    "BOOLEAN": Types.BOOLEAN(),
    "BIGINT": Types.LONG(),
    "INT": Types.INT(),
}


class ScoreDevice(KeyedProcessFunction):
    """Scores one device's batch of readings with that device's forest, kept in keyed state."""

    def __init__(
        self, names: list[str], columns: list[str], params: ForestParams, preset: str, explain: bool
    ) -> None:
        self.time_position = names.index("event_time")
        self.positions = [names.index(c) for c in columns]
        self.columns = columns
        self.params = params
        self.preset = preset
        self.explain = explain

    def open(self, context: RuntimeContext) -> None:
        # The state value is the (forest, thresholder) pair itself: Flink's Python state backend
        # keeps it as an object between calls and pickles it (the forest through to_bytes) once
        # per bundle, when it commits the bundle's state; a checkpoint waits for that commit.
        self.state = context.get_state(ValueStateDescriptor("forest", Types.PICKLED_BYTE_ARRAY()))

    def _model(self, device: str) -> tuple[RandomCutForest, Thresholder]:
        saved = self.state.value()
        if saved is not None:
            forest, thresholder = saved
            return forest, thresholder
        seed = (self.params.seed + zlib.crc32(device.encode())) % 2**31
        params = ForestParams(**{**self.params.__dict__, "seed": seed})
        return RandomCutForest(params), thresholder_for(self.preset, params)

    def process_element(self, value: Row, ctx: Any) -> Iterator[Row]:
        device, rows = value[0], list(value[1])
        rows.sort(key=lambda r: (r[self.time_position], repr(tuple(r))))
        forest, thresholder = self._model(device)
        values = np.array(
            [[np.nan if r[p] is None else float(r[p]) for p in self.positions] for r in rows],
            dtype=np.float64,
        ).reshape(len(rows), len(self.positions))
        complete = np.isfinite(values).all(axis=1)
        scores, high, low = forest.score_and_update(values[complete], attribution=self.explain)
        grades = [thresholder.grade_and_update(float(s)) for s in scores]
        self.state.update((forest, thresholder))
        results = iter(range(len(scores)))
        scored = []
        for row, ok in zip(rows, complete.tolist(), strict=True):
            fields = list(row)
            if ok:
                i = next(results)
                fields += [float(scores[i]), grades[i]]
                if self.explain and high is not None and low is not None:
                    fields.append(explanation(self.columns, high[i], low[i]))
            else:
                fields += [None, None] + ([None] if self.explain else [])
            scored.append(Row(*fields))
        # one element out per batch too: crossing between Java and Python costs per element
        yield Row(device, scored)


def _flag(text: str) -> bool:
    return text.strip().lower() in ("1", "true", "yes", "on")


def build(env: StreamTableEnvironment, params: Mapping[str, str]) -> dict[str, Table]:
    columns = [c.strip() for c in params.get("columns", ",".join(SENSORS)).split(",") if c]
    unknown = [c for c in columns if SENSOR_COLUMNS.get(c) != "DOUBLE"]
    if unknown:
        raise JobError(OUTPUT, f"not a numeric column of {SOURCE}: {', '.join(unknown)}")
    preset = params.get("preset", "kinesis")
    explain = _flag(params.get("explain", "false"))
    numbers = {
        key: int(params[name])
        for key, name in (
            ("number_of_trees", "trees"),
            ("sub_sample_size", "sample_size"),
            ("time_decay", "time_decay"),
            ("shingle_size", "shingle_size"),
            ("seed", "seed"),
        )
        if name in params
    }
    forest_params = params_for(preset, len(columns), **numbers)
    forest_params.check()
    batch = int(params.get("batch_seconds", "60"))

    # A bundle's end commits the state of every device it touched (pickling ~1.5 MB per
    # forest): let a bundle run 10 s rather than 1 s. Checkpoints still end one at once.
    env.get_config().set("python.fn-execution.bundle.time", "10000")
    env.get_config().set("python.fn-execution.bundle.size", "1000000")
    names = list(SENSOR_COLUMNS)
    fields = ", ".join(
        "CAST(`event_time` AS TIMESTAMP(3))" if n == "event_time" else f"`{n}`" for n in names
    )
    batches = env.sql_query(
        f"SELECT device_id, ARRAY_AGG(ROW({fields})) AS readings "
        f"FROM TABLE(TUMBLE(TABLE {SOURCE}, DESCRIPTOR(event_time), INTERVAL '{batch}' SECOND(6))) "
        "GROUP BY device_id, window_start, window_end"
    )
    types = [
        Types.SQL_TIMESTAMP() if n == "event_time" else _FLINK_TYPES[SENSOR_COLUMNS[n]]
        for n in names
    ]
    out_names = [*names, "anomaly_score", "anomaly_grade"]
    out_types = [*types, Types.DOUBLE(), Types.DOUBLE()]
    if explain:
        out_names.append("anomaly_explanation")
        out_types.append(Types.STRING())
    scored = (
        env.to_data_stream(batches)
        # Watermarks stop here: the scoring needs none, and every watermark reaching a Python
        # operator makes it finish its bundle, which pickles the state of every device the
        # bundle touched. Without them a bundle (and the forests' pickling) spans a second.
        .assign_timestamps_and_watermarks(WatermarkStrategy.no_watermarks())
        .key_by(lambda batch: batch[0], key_type=Types.STRING())
        .process(
            ScoreDevice(names, columns, forest_params, preset, explain),
            output_type=Types.ROW_NAMED(
                ["device_id", "scored"],
                [Types.STRING(), Types.OBJECT_ARRAY(Types.ROW_NAMED(out_names, out_types))],
            ),
        )
    )
    env.create_temporary_view("tidebox_scored_batches", env.from_data_stream(scored))
    aliases = ", ".join(f"`{n}`" for n in out_names)
    picked = ", ".join(f"r.`{n}`" for n in out_names)
    return {
        OUTPUT: env.sql_query(
            f"SELECT {picked} FROM tidebox_scored_batches CROSS JOIN UNNEST(scored) AS r({aliases})"
        )
    }
