"""Deterministic synthetic IoT sensor readings with labelled anomaly episodes.

One reading per device per interval; every value comes from ``numpy.random.default_rng(seed)``,
so the same :class:`GenerateSpec` always yields the same frame (and byte-identical files).
Anomalies are injected as episodes (spike, level_shift, drift, stuck) on one sensor each and
every affected row is labelled, so downstream jobs and checks can be scored against the truth.
"""

from __future__ import annotations

import math
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tidebox.core.errors import ConfigError, InputFileError
from tidebox.core.settings import SENSOR_COLUMNS, SENSORS

ANOMALY_TYPES = ("spike", "level_shift", "drift", "stuck")
RUN_LENGTHS = {"spike": (1, 1), "level_shift": (30, 120), "drift": (60, 240), "stuck": (30, 120)}
# Physical ranges a data-quality suite checks (values are clipped into them after injection)
# and the decimals a reading is rounded to.
# fmt: off
LIMITS = {"temperature": (-40.0, 125.0, 2), "humidity": (0.0, 100.0, 2),
          "vibration": (0.0, 100.0, 3), "battery": (0.0, 100.0, 2)}
# Per-device parameters, uniform in these ranges; the sigmas also set the size of anomalies.
DEVICE_PARAMS = {
    "phase_h": (-1.0, 1.0),
    "t_base": (18.0, 26.0), "t_amp": (2.0, 6.0), "t_sigma": (0.2, 0.4),
    "h_base": (40.0, 65.0), "h_amp": (5.0, 12.0), "h_sigma": (0.8, 1.6),
    "v_base": (0.5, 4.0), "v_rel": (0.08, 0.2),
    "b_start": (60.0, 100.0), "b_drain_day": (0.5, 3.0),
}
ARROW_TYPES = {"STRING": pa.string(), "TIMESTAMP_LTZ(3)": pa.timestamp("ms", tz="UTC"),
               "DOUBLE": pa.float64(), "BOOLEAN": pa.bool_()}
# fmt: on
MAX_ROWS = 50_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY_MS = 86_400_000


@dataclass(frozen=True)
class GenerateSpec:
    """What to generate; invalid values raise ConfigError at construction."""

    devices: int = 20
    hours: float = 6.0
    interval_seconds: float = 10.0
    start: datetime = datetime(2026, 1, 1, tzinfo=UTC)
    seed: int = 42
    anomaly_rate: float = 0.0005  # expected anomaly episodes per reading (~3.5% of rows)

    def __post_init__(self) -> None:
        check_spec(self)

    @property
    def readings(self) -> int:
        """Readings per device: every full interval in the time span."""
        return math.floor(self.hours * 3600 / self.interval_seconds + 1e-9)


@dataclass(frozen=True)
class GenerateResult:
    """What :func:`write_dataset` wrote; ``anomalies`` counts rows labelled anomalous."""

    path: Path
    rows: int
    devices: int
    anomalies: int
    start: datetime
    end: datetime


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_spec(spec: GenerateSpec) -> None:
    """Raise ConfigError naming the first invalid field (dataclasses do not validate)."""
    hours, interval, rate = spec.hours, spec.interval_seconds, spec.anomaly_rate
    if not _is_int(spec.devices) or spec.devices < 1:
        raise ConfigError(f"devices must be an integer >= 1, got {spec.devices!r}")
    if not _is_number(hours) or hours <= 0:
        raise ConfigError(f"hours must be a number > 0, got {hours!r}")
    if not _is_number(interval) or interval < 0.001:
        raise ConfigError(f"interval_seconds must be a number >= 0.001, got {interval!r}")
    if not _is_number(rate) or not 0 <= rate <= 1:
        raise ConfigError(f"anomaly_rate must be between 0 and 1, got {rate!r}")
    if not _is_int(spec.seed) or spec.seed < 0:
        raise ConfigError(f"seed must be an integer >= 0, got {spec.seed!r}")
    if not isinstance(spec.start, datetime) or spec.start.utcoffset() is None:
        raise ConfigError(f"start must be a timezone-aware datetime, got {spec.start!r}")
    rows = spec.devices * spec.readings
    if rows < 1:
        raise ConfigError(f"hours={hours} is shorter than one interval of {interval} s")
    if rows > MAX_ROWS:
        raise ConfigError(f"the spec asks for {rows:,} rows; at most {MAX_ROWS:,} are allowed")


def simulate_sensors(
    rng: np.random.Generator, devices: int, times_ms: np.ndarray, interval_seconds: float
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Clean (devices, readings) series per sensor, and each device's noise sigma per sensor."""
    low, high = np.array(list(DEVICE_PARAMS.values())).T
    drawn = rng.uniform(low, high, (devices, len(DEVICE_PARAMS)))
    p = {name: drawn[:, [i]] for i, name in enumerate(DEVICE_PARAMS)}  # (devices, 1) columns
    shape = (devices, times_ms.size)
    hour = (times_ms % _DAY_MS) / 3_600_000.0
    cycle = np.sin(2 * np.pi * (hour - 9.0 + p["phase_h"]) / 24.0)  # peaks mid-afternoon
    noise = rng.standard_normal((3, *shape))
    drain = p["b_drain_day"] * interval_seconds / 86_400 * rng.gamma(4.0, 0.25, shape)
    values = {
        "temperature": p["t_base"] + p["t_amp"] * cycle + p["t_sigma"] * noise[0],
        "humidity": p["h_base"] - p["h_amp"] * cycle + p["h_sigma"] * noise[1],
        "vibration": p["v_base"] * np.exp(p["v_rel"] * noise[2]),  # log-normal: always > 0
        "battery": p["b_start"] - np.cumsum(drain, axis=1),  # positive steps: monotonic drain
    }
    sigmas = (p["t_sigma"], p["h_sigma"], p["v_base"] * p["v_rel"], np.full((devices, 1), 1.5))
    return values, dict(zip(SENSORS, sigmas, strict=True))


def shape_episode(kind: str, row: np.ndarray, s: int, e: int, step: float, u: float) -> np.ndarray:
    """The anomalous values of row[s:e]; ``step`` is a signed sigma, ``u`` a size in [0, 1)."""
    if kind == "spike":
        return row[s:e] + step * (6 + 4 * u)
    if kind == "level_shift":
        return row[s:e] + step * (4 + 4 * u)
    if kind == "drift":
        return row[s:e] + step * (6 + 6 * u) * np.arange(1, e - s + 1) / (e - s)
    return np.full(e - s, row[s - 1] if s > 0 else row[s])  # stuck: repeat the last value


def inject_anomalies(
    rng: np.random.Generator,
    values: dict[str, np.ndarray],
    sigmas: dict[str, np.ndarray],
    rate: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Alter ``values`` in place; return per-row kind and sensor codes (-1 where normal)."""
    devices, n = values[SENSORS[0]].shape
    kinds = np.full((devices, n), -1, dtype=np.int8)
    sensors = np.full((devices, n), -1, dtype=np.int8)
    device = np.repeat(np.arange(devices), rng.poisson(rate * n, devices))
    total = device.size
    start = rng.integers(0, n, total)
    kind = rng.integers(0, len(ANOMALY_TYPES), total)
    sensor = rng.integers(0, len(SENSORS), total)
    low = np.array([RUN_LENGTHS[k][0] for k in ANOMALY_TYPES])[kind]
    high = np.array([RUN_LENGTHS[k][1] for k in ANOMALY_TYPES])[kind]
    length = low + (rng.random(total) * (high - low + 1)).astype(np.int64)
    sign = np.where(rng.random(total) < 0.5, -1.0, 1.0)
    sign[sensor == SENSORS.index("vibration")] = 1.0  # failing machines vibrate more, not less
    size = rng.random(total)
    for i in np.lexsort((start, device)):
        dev, s = int(device[i]), int(start[i])
        e = min(s + int(length[i]), n)
        if (kinds[dev, max(s - 1, 0) : e + 1] >= 0).any():
            continue  # keep episodes apart so every row has exactly one label
        name = SENSORS[sensor[i]]
        row = values[name][dev]
        step = float(sign[i] * sigmas[name][dev, 0])
        row[s:e] = shape_episode(ANOMALY_TYPES[kind[i]], row, s, e, step, float(size[i]))
        kinds[dev, s:e], sensors[dev, s:e] = kind[i], sensor[i]
    return kinds, sensors


def generate_frame(spec: GenerateSpec) -> pd.DataFrame:
    """The whole data set, sorted by event_time then device_id, columns as SENSOR_COLUMNS."""
    rng = np.random.default_rng(spec.seed)
    devices, n = spec.devices, spec.readings
    start_ms = (spec.start - _EPOCH) // timedelta(milliseconds=1)
    times_ms = start_ms + np.round(np.arange(n) * spec.interval_seconds * 1000).astype(np.int64)
    values, sigmas = simulate_sensors(rng, devices, times_ms, spec.interval_seconds)
    kinds, sensors = inject_anomalies(rng, values, sigmas, spec.anomaly_rate)

    width = max(3, len(str(devices)))
    ids = np.array([f"dev-{i + 1:0{width}d}" for i in range(devices)], dtype=object)
    stamps = np.repeat(times_ms, devices).astype("datetime64[ms]")
    columns: dict[str, object] = {
        "device_id": np.tile(ids, n),
        "event_time": pd.DatetimeIndex(stamps).tz_localize("UTC"),
    }
    for name in SENSORS:  # (devices, n) -> time-major rows, device order within each time
        low, high, decimals = LIMITS[name]
        columns[name] = np.round(np.clip(values[name], low, high), decimals).T.ravel()
    kind_codes, sensor_codes = kinds.T.ravel(), sensors.T.ravel()
    columns["is_anomaly"] = kind_codes >= 0
    columns["anomaly_type"] = np.array([None, *ANOMALY_TYPES], dtype=object)[kind_codes + 1]
    columns["anomaly_sensor"] = np.array([None, *SENSORS], dtype=object)[sensor_codes + 1]
    return pd.DataFrame({name: columns[name] for name in SENSOR_COLUMNS})


def summarize_anomalies(frame: pd.DataFrame) -> dict[str, int]:
    """Anomalous rows per anomaly_type; every known type is present, zero when absent."""
    counts = frame.loc[frame["is_anomaly"].astype(bool), "anomaly_type"].value_counts()
    summary = {kind: 0 for kind in ANOMALY_TYPES}
    summary.update({str(kind): int(count) for kind, count in counts.items()})
    return summary


def format_text_frame(frame: pd.DataFrame, booleans_as_text: bool) -> pd.DataFrame:
    """A copy with event_time as ISO-8601 UTC text ("...T00:00:10.000Z") for CSV/JSONL."""
    text = frame.copy()
    stamps = frame["event_time"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
    text["event_time"] = np.datetime_as_string(
        stamps.astype("datetime64[ms]"), unit="ms", timezone="UTC"
    )
    if booleans_as_text:
        text["is_anomaly"] = np.where(frame["is_anomaly"].to_numpy(bool), "true", "false")
    return text


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    format_text_frame(frame, booleans_as_text=True).to_csv(path, index=False, lineterminator="\n")


def write_jsonl(frame: pd.DataFrame, path: Path) -> None:
    format_text_frame(frame, booleans_as_text=False).to_json(path, orient="records", lines=True)


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    schema = pa.schema([(name, ARROW_TYPES[kind]) for name, kind in SENSOR_COLUMNS.items()])
    pq.write_table(pa.Table.from_pandas(frame, schema=schema, preserve_index=False), path)


FORMATS: dict[str, Callable[[pd.DataFrame, Path], None]] = {
    ".csv": write_csv,
    ".jsonl": write_jsonl,
    ".json": write_jsonl,
    ".parquet": write_parquet,
}


def write_atomically(frame: pd.DataFrame, target: Path, writer: Callable[..., None]) -> None:
    """Write to a hidden temp file next to ``target``, then rename: readers never see half."""
    temp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        writer(frame, temp)
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)


def write_dataset(spec: GenerateSpec, path: str | Path) -> GenerateResult:
    """Generate the data set and write it as .csv, .jsonl/.json or .parquet (by suffix)."""
    target = Path(path)
    writer = FORMATS.get(target.suffix.lower())
    if writer is None:
        found = f"'{target.suffix}'" if target.suffix else "(no suffix)"
        raise InputFileError(
            str(target), f"unsupported format {found}; use .csv, .jsonl or .parquet"
        )
    frame = generate_frame(spec)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(frame, target, writer)
    except OSError as exc:
        raise InputFileError(str(target), f"cannot write: {exc}") from exc
    times = frame["event_time"]
    return GenerateResult(
        path=target,
        rows=len(frame),
        devices=spec.devices,
        anomalies=int(frame["is_anomaly"].sum()),
        start=times.iloc[0].to_pydatetime(),
        end=times.iloc[-1].to_pydatetime(),
    )
