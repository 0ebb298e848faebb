"""Table API job: per device and 5-minute tumbling event-time window, the peak vibration and
the number of readings. The Python twin of a SQL window job; ``tidebox job run`` runs it the
same way, reading ``sensor_readings`` and writing ``vibration_peaks_5m``."""

from __future__ import annotations

from pyflink.table import StreamTableEnvironment, Table
from pyflink.table.expressions import col, lit
from pyflink.table.window import Tumble


def build(env: StreamTableEnvironment) -> dict[str, Table]:
    readings = env.from_path("sensor_readings")
    peaks = (
        readings.window(Tumble.over(lit(5).minutes).on(col("event_time")).alias("w"))
        .group_by(col("w"), col("device_id"))
        .select(
            col("w").start.alias("window_start"),
            col("w").end.alias("window_end"),
            col("device_id"),
            col("vibration").count.alias("readings"),
            col("vibration").max.alias("vibration_max"),
        )
    )
    return {"vibration_peaks_5m": peaks}
