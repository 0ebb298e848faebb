"""The sandbox project: the folder holding ``tidebox.yaml`` and the four folders of user content.

A project is found as git finds a repository: the working folder or the nearest parent with a
``tidebox.yaml`` (or the folder of the file ``--config``/``TIDEBOX_CONFIG`` names). Without one,
the working folder is the project and every setting takes its default.

What users write lives in four folders, loaded by path and never imported as packages:

==================  ==============================================================================
``jobs/``           Flink jobs, ``NAME.sql`` or ``NAME.py`` (``tidebox job run NAME``)
``producers/``      generator specs, ``NAME.yaml`` (``tidebox generate --spec NAME``), and scripts
``sinks/``          delivery streams, ``NAME.yaml`` (one ``sinks:`` entry each), and transforms
``expectations/``   Great Expectations suites, ``NAME.json`` (``tidebox check NAME``)
==================  ==============================================================================

Relative paths in ``tidebox.yaml`` and in ``sinks/*.yaml`` are relative to the project folder,
so every command means the same files from any folder inside the project.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tidebox.core.errors import ConfigError

CONFIG_FILE = "tidebox.yaml"
JOBS, PRODUCERS, SINKS, EXPECTATIONS = "jobs", "producers", "sinks", "expectations"
JOB_SUFFIXES = (".sql", ".py")
YAML_SUFFIXES = (".yaml", ".yml")


def find_project(start: Path | None = None) -> Path | None:
    """The nearest folder, ``start`` (default the working folder) or a parent, holding a
    ``tidebox.yaml``; None when there is none up to the root."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    return None


def is_url(location: str) -> bool:
    """True for ``s3://...`` and other URLs, which are never relative to the project."""
    return "://" in location


def in_project(project_dir: Path, path: str | Path) -> Path:
    """``path`` as the project means it: an absolute path as is, a relative one under
    ``project_dir``."""
    given = Path(path).expanduser()
    return given if given.is_absolute() else project_dir / given


def resolve_paths(section: str, entry: dict[str, Any], project_dir: Path) -> dict[str, Any]:
    """A copy of one named entry of ``section`` (jobs, tables, suites, sinks) with its relative
    file paths made absolute under ``project_dir``; URLs and module names stay as they are."""
    entry = dict(entry)
    if section in ("jobs", "suites") and isinstance(entry.get("file"), str):
        entry["file"] = str(in_project(project_dir, entry["file"]))
    elif section == "tables" and isinstance(entry.get("location"), str):
        if not is_url(entry["location"]):
            entry["location"] = str(in_project(project_dir, entry["location"]))
    elif section == "sinks":
        destination = entry.get("destination")
        if isinstance(destination, str) and not is_url(destination):
            entry["destination"] = str(in_project(project_dir, destination))
        processor = entry.get("processor")
        if isinstance(processor, dict) and isinstance(processor.get("function"), str):
            target, sep, name = processor["function"].rpartition(":")
            if sep and target.endswith(".py"):
                function = f"{in_project(project_dir, target)}:{name}"
                entry["processor"] = {**processor, "function": function}
    return entry


def job_file(project_dir: Path, name: str) -> Path | None:
    """The project's ``jobs/NAME.sql`` or ``jobs/NAME.py``, if there is one."""
    for suffix in JOB_SUFFIXES:
        path = project_dir / JOBS / f"{name}{suffix}"
        if path.is_file():
            return path
    return None


def suite_file(project_dir: Path, name: str) -> Path | None:
    """The project's ``expectations/NAME.json``, if there is one."""
    path = project_dir / EXPECTATIONS / f"{name}.json"
    return path if path.is_file() else None


def producer_spec(project_dir: Path, name: str) -> Path | None:
    """The project's ``producers/NAME.yaml`` (or ``.yml``), if there is one."""
    for suffix in YAML_SUFFIXES:
        path = project_dir / PRODUCERS / f"{name}{suffix}"
        if path.is_file():
            return path
    return None


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    """The mapping in a YAML file; ConfigError (one line, naming the file) if it is not one."""
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", source=str(path)) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"cannot read: invalid YAML{where}: {problem}", source=str(path)) from exc
    if not isinstance(data, dict):
        raise ConfigError("top level must be a mapping", source=str(path))
    return data


def read_sink_files(project_dir: Path) -> dict[str, tuple[Path, dict[str, Any]]]:
    """The delivery streams defined as files, ``sinks/NAME.yaml``: each holds one entry in the
    format of tidebox.yaml's ``sinks:`` list, named after its file unless it says ``name:``
    (which must then be the file's name). Keyed by name, with the file each came from."""
    found: dict[str, tuple[Path, dict[str, Any]]] = {}
    folder = project_dir / SINKS
    if not folder.is_dir():
        return found
    paths = sorted(p for p in folder.iterdir() if p.suffix in YAML_SUFFIXES and p.is_file())
    for path in paths:
        entry = read_yaml_mapping(path)
        name = entry.setdefault("name", path.stem)
        if name != path.stem:
            raise ConfigError(
                f"defines delivery stream '{name}': name the file {name}{path.suffix} or drop "
                "the name",
                source=str(path),
            )
        if name in found:
            raise ConfigError(
                f"delivery stream '{name}' is also defined in {found[name][0].name}",
                source=str(path),
            )
        found[name] = (path, entry)
    return found
