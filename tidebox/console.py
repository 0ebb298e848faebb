"""The consoles the CLI prints to, and the settings it parsed: shared by its command modules."""

from __future__ import annotations

import typer
from rich.console import Console

from tidebox.config import Settings

out = Console()
err = Console(stderr=True)


def settings_of(ctx: typer.Context) -> Settings:
    settings: Settings = ctx.ensure_object(dict)["settings"]
    return settings
