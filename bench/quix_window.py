"""Quix Streams doing the benchmark's windowed aggregation; run by window_throughput.py.

    python bench/quix_window.py BOOTSTRAP SOURCE_TOPIC EVENTS

Consumes SOURCE_TOPIC from the start with a 1-minute tumbling event-time window per device
(5 s grace, as the Flink job's watermark), computing readings plus count, mean, min and max of
four sensors, and produces each closed window to a topic. Prints one JSON line with the
events/s from ``app.run()`` until EVENTS records were consumed.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import uuid
from datetime import datetime
from typing import Any

from quixstreams import Application
from quixstreams.dataframe.windows import Count, Max, Mean, Min

SENSORS = ("temperature", "humidity", "vibration", "battery")


def event_time_ms(value: Any, headers: Any, timestamp: float, timestamp_type: Any) -> int:
    return int(
        datetime.fromisoformat(value["event_time"].replace("Z", "+00:00")).timestamp() * 1000
    )


def main() -> None:
    bootstrap, source, events = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with tempfile.TemporaryDirectory(prefix="quix-bench-") as state:
        app = Application(
            broker_address=bootstrap,
            consumer_group=f"quix-bench-{uuid.uuid4().hex[:8]}",
            auto_offset_reset="earliest",
            state_dir=state,
            loglevel="WARNING",
        )
        topic = app.topic(source, value_deserializer="json", timestamp_extractor=event_time_ms)
        output = app.topic(f"{source}_quix_stats", value_serializer="json")
        seen = {"n": 0, "start": 0.0, "end": 0.0}

        def count(value: Any) -> None:
            seen["n"] += 1
            if seen["n"] == events:
                seen["end"] = time.monotonic()
                app.stop()

        aggregations: dict[str, Any] = {"readings": Count()}
        for sensor in SENSORS:
            aggregations[f"{sensor}_count"] = Count(sensor)
            aggregations[f"{sensor}_avg"] = Mean(sensor)
            aggregations[f"{sensor}_min"] = Min(sensor)
            aggregations[f"{sensor}_max"] = Max(sensor)
        sdf = app.dataframe(topic)
        sdf = sdf.update(count)
        sdf = sdf.tumbling_window(duration_ms=60_000, grace_ms=5_000).agg(**aggregations).final()
        sdf.to_topic(output)
        seen["start"] = time.monotonic()
        app.run()
    seconds = seen["end"] - seen["start"]
    print(
        json.dumps({"events": seen["n"], "seconds": seconds, "events_per_second": events / seconds})
    )


if __name__ == "__main__":
    main()
