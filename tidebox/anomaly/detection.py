"""How well alarms catch labelled anomalies: events caught, precision, recall, delay.

The measures, per key (device) in time order:

* an **event** is a maximal run of consecutive labelled rows of one key with the same kind (a
  spike is one row, a level shift a run of them); it starts at its first row's time and ends
  at its last's;
* an **alarm** is a row whose alarm value is above the threshold (by default a tuned grade
  above ``ALARM_GRADE``, about NAB's best threshold for the tuned preset); alarms of
  one key less than ``grace`` apart form one **alarm episode**;
* an event is **caught** when an alarm of its key falls between its start and its end plus
  ``grace`` (a detector may only react once a level shift ends, or a moment after a spike);
  its **delay** is the time from its start to the first such alarm;
* an episode is a **hit** when one of its alarms falls in some event's span (start to end plus
  grace), else a **false alarm**;
* **recall** = events caught / events; **precision** = hits / episodes; **F1** their harmonic
  mean; **false alarms per key-day** = false alarms / (keys x days the rows cover).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tidebox.anomaly.scoring import ALARM_GRADE

DEFAULT_GRACE = pd.Timedelta(minutes=5)
DEFAULT_THRESHOLD = ALARM_GRADE  # a tuned grade from here on is an alarm


@dataclass(frozen=True)
class KindResult:
    kind: str
    events: int
    caught: int

    @property
    def missed(self) -> int:
        return self.events - self.caught


@dataclass(frozen=True)
class Detection:
    """The measures over every key, and per kind of event."""

    events: int
    caught: int
    episodes: int
    hits: int
    false_alarms: int
    key_days: float
    delays_s: tuple[float, ...]  # per caught event, seconds from its start to the first alarm
    kinds: tuple[KindResult, ...] = field(default_factory=tuple)

    @property
    def recall(self) -> float:
        return self.caught / self.events if self.events else 0.0

    @property
    def precision(self) -> float:
        return self.hits / self.episodes if self.episodes else 0.0

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0

    @property
    def false_alarms_per_key_day(self) -> float:
        return self.false_alarms / self.key_days if self.key_days else 0.0

    def delay_s(self, quantile: float) -> float | None:
        """A quantile of the detection delays (0.5: the median), None when nothing was caught."""
        if not self.delays_s:
            return None
        return float(np.quantile(np.array(self.delays_s), quantile))


@dataclass(frozen=True)
class Event:
    key: str
    kind: str
    start: pd.Timestamp
    end: pd.Timestamp


def find_events(
    labels: pd.DataFrame, key: str, time: str, label: str, kind: str | None
) -> list[Event]:
    """The labelled events: runs of consecutive labelled rows of one key (and one kind)."""
    events = []
    for name, rows in labels.sort_values([key, time], kind="stable").groupby(key, sort=True):
        flagged = rows[label].fillna(False).astype(bool).to_numpy()
        kinds = rows[kind].astype(object).to_numpy() if kind else np.full(len(rows), "anomaly")
        times = _utc(rows[time])
        start = None
        for i in range(len(rows) + 1):
            ends = (
                i == len(rows) or not flagged[i] or (start is not None and kinds[i] != kinds[start])
            )
            if start is not None and ends:
                events.append(
                    Event(
                        str(name),
                        str(kinds[start]),
                        pd.Timestamp(times[start], tz="UTC"),
                        pd.Timestamp(times[i - 1], tz="UTC"),
                    )
                )
                start = None
            if i < len(rows) and flagged[i] and start is None:
                start = i
    return events


def evaluate_alarms(
    scores: pd.DataFrame,
    labels: pd.DataFrame | None = None,
    key: str = "device_id",
    time: str = "event_time",
    alarm: str = "anomaly_grade",
    threshold: float = DEFAULT_THRESHOLD,
    label: str = "is_anomaly",
    kind: str | None = "anomaly_type",
    grace: pd.Timedelta = DEFAULT_GRACE,
) -> Detection:
    """Score ``scores``' alarms (``alarm`` above ``threshold``) against the events labelled in
    ``labels`` (the same frame when None); rows match on ``key`` and ``time``."""
    labels = scores if labels is None else labels
    events = find_events(labels, key, time, label, kind)
    frame = scores[[key, time, alarm]].copy()
    frame[time] = _utc(frame[time])
    alarms = frame[frame[alarm].fillna(-np.inf) > threshold].sort_values([key, time])
    by_key: dict[str, np.ndarray] = {
        str(k): rows[time].to_numpy() for k, rows in alarms.groupby(key, sort=True)
    }
    windows: dict[str, list[Window]] = {}
    caught, delays = 0, []
    per_kind: dict[str, list[int]] = {}
    for event in events:
        window = event_window(event, grace)
        windows.setdefault(event.key, []).append(window)
        first = first_alarm_in(by_key.get(event.key, _NO_TIMES), window)
        tally = per_kind.setdefault(event.kind, [0, 0])
        tally[0] += 1
        if first is not None:
            caught += 1
            tally[1] += 1
            delays.append(float((first - window[0]) / np.timedelta64(1, "s")))
    episodes = hits = 0
    for name, times in by_key.items():
        for episode in _episodes(times, grace):
            episodes += 1
            hits += bool(alarm_hits(episode, windows.get(name, [])).any())
    covered = pd.to_datetime(labels[time], utc=True)
    days = (
        max((covered.max() - covered.min()) / pd.Timedelta(days=1), 1 / 24) if len(labels) else 0.0
    )
    return Detection(
        events=len(events),
        caught=caught,
        episodes=episodes,
        hits=hits,
        false_alarms=episodes - hits,
        key_days=labels[key].nunique() * days,
        delays_s=tuple(delays),
        kinds=tuple(KindResult(k, n, c) for k, (n, c) in sorted(per_kind.items())),
    )


Window = tuple[np.datetime64, np.datetime64]  # an event's span: its start to its end plus grace
_NO_TIMES = np.array([], dtype="datetime64[ns]")


def event_window(event: Event, grace: pd.Timedelta = DEFAULT_GRACE) -> Window:
    """Where an alarm catches ``event``: from its start to its end plus ``grace`` (naive UTC)."""
    start = event.start.tz_convert(None).to_datetime64()
    return start, (event.end + grace).tz_convert(None).to_datetime64()


def first_alarm_in(times: np.ndarray, window: Window) -> np.datetime64 | None:
    """The first of ``times`` (sorted, naive UTC) inside ``window``, None if none is."""
    inside = times[(times >= window[0]) & (times <= window[1])]
    return inside[0] if len(inside) else None


def alarm_hits(times: np.ndarray, windows: list[Window]) -> np.ndarray:
    """Per alarm time, whether it falls in one of ``windows``."""
    hit = np.zeros(len(times), dtype=bool)
    for start, until in windows:
        hit |= (times >= start) & (times <= until)
    return hit


def _utc(times: pd.Series) -> np.ndarray:
    """Times as naive UTC datetime64[ns]: comparable, whatever zone or text they came in."""
    return pd.to_datetime(times, utc=True).dt.tz_convert(None).to_numpy("datetime64[ns]")


def _episodes(times: np.ndarray, grace: pd.Timedelta) -> list[np.ndarray]:
    """Alarms of one key split where the gap between two reaches ``grace``."""
    if not len(times):
        return []
    gaps = np.diff(times) >= grace.to_timedelta64()
    return np.split(times, np.nonzero(gaps)[0] + 1)
