"""The report's charts (plotly figures): a device's readings with its labelled events and
alarms, and the fleet's window statistics."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from tidebox.anomaly.detection import (
    DEFAULT_THRESHOLD,
    Event,
    alarm_hits,
    event_window,
    first_alarm_in,
)

SENSORS = ("temperature", "humidity", "vibration", "battery")
KIND_COLOURS = {
    "spike": "#d62728",
    "level_shift": "#ff7f0e",
    "drift": "#9467bd",
    "stuck": "#8c564b",
}
HIT, FALSE_ALARM, MISSED = "#2ca02c", "#d62728", "#7f7f7f"


def device_figure(rows: pd.DataFrame, events: list[Event], device: str) -> go.Figure:
    """The device's four sensors and its grade over time: labelled events shaded by kind (a
    missed one marked), alarms as points, green when they hit an event and red when not."""
    times = pd.to_datetime(rows["event_time"], utc=True)
    figure = make_subplots(
        rows=len(SENSORS) + 1,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.02,
        subplot_titles=[*SENSORS, "anomaly grade"],
    )
    for row, sensor in enumerate(SENSORS, start=1):
        figure.add_trace(
            go.Scatter(
                x=times,
                y=rows[sensor],
                mode="lines",
                name=sensor,
                showlegend=False,
                line={"width": 1, "color": "#1f77b4"},
            ),
            row=row,
            col=1,
        )
    grade = rows["anomaly_grade"]
    figure.add_trace(
        go.Scatter(
            x=times,
            y=grade,
            mode="lines",
            name="grade",
            showlegend=False,
            line={"width": 1, "color": "#444"},
        ),
        row=len(SENSORS) + 1,
        col=1,
    )
    alarmed = grade.fillna(0) > DEFAULT_THRESHOLD
    alarm_times = times[alarmed].dt.tz_convert(None).to_numpy("datetime64[ns]")
    windows = [event_window(e) for e in events]
    hit = alarm_hits(alarm_times, windows)
    for flag, colour, label in (
        (True, HIT, "alarm on an event"),
        (False, FALSE_ALARM, "false alarm"),
    ):
        chosen = hit == flag
        figure.add_trace(
            go.Scatter(
                x=times[alarmed][chosen],
                y=grade[alarmed][chosen],
                mode="markers",
                name=label,
                marker={"color": colour, "size": 7},
                legendgroup=label,
            ),
            row=len(SENSORS) + 1,
            col=1,
        )
    step = _interval(times)
    for event, window in zip(events, windows, strict=True):
        caught = first_alarm_in(alarm_times, window) is not None
        figure.add_vrect(
            x0=event.start - step / 2,
            x1=event.end + step / 2,
            fillcolor=KIND_COLOURS.get(event.kind, "#bcbd22"),
            opacity=0.25,
            line_width=0,
            row="all",
            col=1,
        )
        figure.add_annotation(
            x=event.start,
            y=1.0,
            yref="paper",
            text=f"{event.kind}{'' if caught else ' (missed)'}",
            showarrow=False,
            font={"size": 10, "color": KIND_COLOURS.get(event.kind, "#333") if caught else MISSED},
            yanchor="bottom",
        )
    figure.update_layout(
        title=f"{device}: readings, labelled events and alarms",
        height=720,
        margin={"l": 50, "r": 20, "t": 70, "b": 30},
        legend={"orientation": "h", "y": -0.05},
    )
    return figure


def windows_figure(windows: pd.DataFrame) -> go.Figure:
    """Peak vibration per device and minute (the 1-minute windows), as a heat map."""
    grid = windows.pivot_table(
        index="device_id", columns="window_start", values="vibration_max", aggfunc="max"
    )
    figure = go.Figure(
        go.Heatmap(
            z=grid.to_numpy(),
            x=pd.to_datetime(grid.columns),
            y=list(grid.index),
            colorscale="Viridis",
            colorbar={"title": "peak vibration"},
        )
    )
    figure.update_layout(
        title="window statistics: peak vibration per device and minute",
        height=max(300, 22 * len(grid.index) + 120),
        margin={"l": 90, "r": 20, "t": 50, "b": 40},
    )
    return figure


def _interval(times: pd.Series) -> pd.Timedelta:
    """The typical time between two readings (a spike is one reading wide)."""
    gaps = times.sort_values().diff().dropna()
    return pd.Timedelta(gaps.median()) if len(gaps) else pd.Timedelta(seconds=10)
