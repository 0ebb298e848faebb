"""Delivery streams created from the CLI (``tidebox sink create``), beside those in tidebox.yaml.

A created delivery stream is kept as JSON under the state folder and read by
:func:`tidebox.core.settings.load_settings` with the declared ones, so every command sees it.
"""

from __future__ import annotations

import json
from pathlib import Path

from tidebox.core.errors import TideboxError
from tidebox.core.settings import Settings, SinkSpec, created_sink_path
from tidebox.delivery.specs import open_delivery


def create_sink(settings: Settings, spec: SinkSpec) -> SinkSpec:
    """Check ``spec`` (prefixes, schema, transform) and keep it, with its local paths made
    absolute; refuse a name in use."""
    spec = absolute_paths(spec)
    path = created_sink_path(settings.state_dir, spec.name)
    if any(s.name == spec.name for s in settings.sinks) or path.exists():
        raise TideboxError(f"delivery stream '{spec.name}' already exists")
    open_delivery(settings, spec)  # raises on a bad prefix, schema or transform
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(spec.model_dump(exclude_defaults=True), indent=2))
    return spec


def delete_sink(settings: Settings, name: str) -> None:
    """Forget a created delivery stream (its delivered objects stay: see ``sink drop``)."""
    path = created_sink_path(settings.state_dir, name)
    if not path.exists():
        declared = any(s.name == name for s in settings.sinks)
        where = "it is declared in tidebox.yaml or built in" if declared else "no such one"
        raise TideboxError(f"cannot delete delivery stream '{name}': {where}")
    path.unlink()


def absolute_paths(spec: SinkSpec) -> SinkSpec:
    """``spec`` with a local ``destination`` and a ``file.py:function`` transform made absolute:
    they were typed relative to the folder ``sink create`` ran in, and are read from any."""
    update: dict[str, object] = {}
    if spec.destination and "://" not in spec.destination:
        update["destination"] = str(Path(spec.destination).resolve())
    if spec.processor is not None:
        target, sep, name = spec.processor.function.rpartition(":")
        if sep and target.endswith(".py"):
            function = f"{Path(target).resolve()}:{name}"
            update["processor"] = spec.processor.model_copy(update={"function": function})
    return spec.model_copy(update=update) if update else spec
