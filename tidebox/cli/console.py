"""The consoles the CLI prints to, and the settings it parsed: shared by its command modules."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn
from rich.text import Text

from tidebox.core.settings import Settings

out = Console()
err = Console(stderr=True)


def settings_of(ctx: typer.Context) -> Settings:
    """The settings, read on first use: a command that needs none (``init``) runs even where a
    tidebox.yaml is broken."""
    state = ctx.ensure_object(dict)
    if "settings" not in state:
        state["settings"] = state["load_settings"]()
    settings: Settings = state["settings"]
    return settings


class RateColumn(ProgressColumn):
    """Events per second over rich's recent-speed window."""

    def __init__(self, unit: str = "events") -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        return Text(f"{task.speed or 0:,.0f} {self.unit}/s", style="cyan")


def progress_bar(unit: str = "events") -> Progress:
    """A transient progress line on stderr: count, rate and time."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f} " + unit),
        RateColumn(unit),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
