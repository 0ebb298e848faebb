"""Detection measures on hand-made cases whose answers are known."""

from __future__ import annotations

import pandas as pd
import pytest

from tidebox.anomaly.detection import evaluate_alarms, find_events

START = pd.Timestamp("2024-01-01T00:00:00Z")


def readings(
    device: str, labels: dict[int, str], alarms: set[int], rows: int = 200
) -> pd.DataFrame:
    """One row every 10 s; ``labels`` maps row numbers to kinds, ``alarms`` the rows graded."""
    return pd.DataFrame(
        {
            "device_id": device,
            "event_time": [START + pd.Timedelta(seconds=10 * i) for i in range(rows)],
            "is_anomaly": [i in labels for i in range(rows)],
            "anomaly_type": [labels.get(i) for i in range(rows)],
            "anomaly_grade": [0.7 if i in alarms else 0.0 for i in range(rows)],
        }
    )


def test_runs_of_labelled_rows_are_events() -> None:
    frame = readings("d1", {5: "spike", 20: "stuck", 21: "stuck", 22: "drift"}, set())
    events = find_events(frame, "device_id", "event_time", "is_anomaly", "anomaly_type")
    assert [(e.kind, e.start, e.end) for e in events] == [
        ("spike", START + pd.Timedelta(seconds=50), START + pd.Timedelta(seconds=50)),
        ("stuck", START + pd.Timedelta(seconds=200), START + pd.Timedelta(seconds=210)),
        ("drift", START + pd.Timedelta(seconds=220), START + pd.Timedelta(seconds=220)),
    ]


def test_a_hit_a_miss_a_false_alarm_and_a_late_hit() -> None:
    labels = {10: "spike"} | {i: "level_shift" for i in range(50, 60)} | {120: "spike"}
    # row 10: hit at once; rows 50-59: caught late, 3 rows after it ended (within 5 min);
    # row 120: missed; row 180: a false alarm
    frame = readings("d1", labels, alarms={10, 62, 63, 180})
    result = evaluate_alarms(frame)
    assert (result.events, result.caught) == (3, 2)
    assert result.recall == pytest.approx(2 / 3)
    assert (result.episodes, result.hits, result.false_alarms) == (3, 2, 1)  # 62-63: one episode
    assert result.precision == pytest.approx(2 / 3)
    assert result.f1 == pytest.approx(2 / 3)
    assert result.delays_s == (0.0, 120.0)  # the level shift's first alarm 12 rows after it began
    assert result.delay_s(0.5) == 60.0
    assert {k.kind: (k.events, k.caught, k.missed) for k in result.kinds} == {
        "level_shift": (1, 1, 0),
        "spike": (2, 1, 1),
    }


def test_an_alarm_after_the_grace_period_is_a_false_alarm_and_the_event_a_miss() -> None:
    frame = readings("d1", {10: "spike"}, alarms={50})  # 400 s after the spike
    result = evaluate_alarms(frame, grace=pd.Timedelta(minutes=5))
    assert (result.caught, result.hits, result.false_alarms) == (0, 0, 1)
    assert result.delay_s(0.5) is None


def test_keys_are_apart_and_false_alarms_count_per_key_day() -> None:
    one = readings("d1", {10: "spike"}, alarms={10}, rows=8640)  # a day of readings each
    two = readings("d2", {}, alarms={10, 4000, 4001}, rows=8640)
    result = evaluate_alarms(pd.concat([one, two]))
    assert (result.events, result.caught, result.false_alarms) == (1, 1, 2)
    assert result.key_days == pytest.approx(2 * 8639 / 8640)
    assert result.false_alarms_per_key_day == pytest.approx(2 / result.key_days)


def test_labels_can_come_from_another_table() -> None:
    frame = readings("d1", {10: "spike"}, alarms={10})
    scores = frame[["device_id", "event_time", "anomaly_grade"]].rename(
        columns={"anomaly_grade": "g"}
    )
    labels = frame.drop(columns=["anomaly_grade"])
    result = evaluate_alarms(scores, labels, alarm="g", threshold=0.5)
    assert (result.events, result.caught) == (1, 1)
