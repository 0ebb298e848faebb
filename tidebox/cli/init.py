"""``tidebox init DIR``: what to try next in a new project (the project itself is written by
:func:`tidebox.core.scaffold.write_project`)."""

from __future__ import annotations

NEXT_STEPS = (
    "tidebox demo",
    "tidebox generate --spec sensors --out data/sensors.csv",
    "tidebox job run device_stats_1m",
    "tidebox sink run anomalies --until-caught-up",
    "tidebox check sensor_readings",
)
