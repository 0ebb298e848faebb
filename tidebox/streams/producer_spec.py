"""Generator specs as files: a project's ``producers/NAME.yaml`` holds the fields of a
:class:`~tidebox.streams.generate.GenerateSpec`, so a data set is named and versioned with the
project instead of retyped as options (``tidebox generate --spec NAME``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from tidebox.core.errors import ConfigError
from tidebox.core.project import producer_spec, read_yaml_mapping
from tidebox.core.settings import Settings
from tidebox.streams.generate import GenerateSpec

FIELDS = tuple(f.name for f in dataclasses.fields(GenerateSpec))


def find_spec_file(settings: Settings, spec: str | Path) -> Path:
    """A spec file path as given, else the project's ``producers/NAME.yaml``."""
    path = Path(spec).expanduser()
    if path.is_file():
        return path
    found = producer_spec(settings.project_dir, str(spec)) if "/" not in str(spec) else None
    if found is None:
        where = settings.project_dir / "producers" / f"{spec}.yaml"
        raise ConfigError(f"no generator spec '{spec}': not a file, and no {where}")
    return found


def _start(value: Any, source: str) -> datetime:
    """YAML reads a timestamp as a datetime (naive when in UTC) or a date; text is ISO-8601."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError as exc:
            raise ConfigError(f"start: not an ISO-8601 time: {value!r}", source=source) from exc
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if not isinstance(value, datetime):
        raise ConfigError(f"start: expected a time, got {value!r}", source=source)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def read_generate_spec(
    path: str | Path, overrides: Mapping[str, Any] | None = None
) -> GenerateSpec:
    """The GenerateSpec in the YAML file at ``path``, with ``overrides`` (options given on the
    command line; None values are left out) winning; ConfigError naming the file if invalid."""
    source = str(path)
    values = read_yaml_mapping(Path(path))
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise ConfigError(
            f"unknown field(s) {', '.join(unknown)} (known: {', '.join(FIELDS)})", source=source
        )
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    if "start" in values:
        values["start"] = _start(values["start"], source)
    try:
        return GenerateSpec(**values)
    except ConfigError as exc:
        raise ConfigError(exc.message, source=source) from exc
