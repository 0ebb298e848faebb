"""Python jobs: a module under ``jobs/`` whose ``build(env)`` returns the tables to write.

A Python job is as first class as a SQL one. tidebox declares every stream the module names
in a string literal as a table of the same name (as for SQL jobs: columns, event time and
watermark from the stream spec, late records routed aside), then calls::

    def build(env: StreamTableEnvironment) -> dict[str, Table]:
        readings = env.from_path("sensor_readings")
        ...                                  # Table API, or env.to_data_stream(...) and back
        return {"device_scores": result}     # output stream -> table

and writes each returned table to its stream: a declared stream's spec, or the table's own
columns for a stream no spec declares. Checkpoints, restarts, ``job list``/``job stop``, the
cluster and the test harness work as for SQL jobs.
"""

from __future__ import annotations

import importlib.util
import inspect
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from tidebox.core.errors import JobError
from tidebox.core.settings import Settings, StreamSpec
from tidebox.flink.functions import uses_functions

Build = Callable[..., Mapping[str, Any]]

# Python API calls that need event time: a job using them drops late records by itself
_EVENT_TIME_CALLS = re.compile(
    r"\b(Tumble|Slide|Session|Over)\.|\bTumblingEventTimeWindows\b|\bSlidingEventTimeWindows\b"
    r"|\bEventTimeSessionWindows\b|\bregister_event_time_timer\b"
)


def is_python_job(path: Path) -> bool:
    return path.suffix == ".py"


def load_module(path: Path) -> ModuleType:
    """Import the job file as a module of its own (not on sys.path, not cached)."""
    name = "tidebox_job_" + re.sub(r"\W", "_", path.stem)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise JobError(str(path), "cannot load the job module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look their module up here
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise JobError(str(path), f"the job module fails to import: {exc}") from exc
    return module


def build_function(path: Path) -> Build:
    build = getattr(load_module(path), "build", None)
    if not callable(build):
        raise JobError(str(path), "a Python job defines build(env) -> {stream: table}")
    return build


def python_sources(text: str, settings: Settings) -> tuple[StreamSpec, ...]:
    """The declared streams the module names in a string literal (``"sensor_readings"``;
    a docstring that talks about a stream does not count): each becomes a table before
    build() runs."""
    quoted = re.findall(r"""["']([\w.-]+)["']""", text)
    return tuple(spec for spec in settings.streams if spec.name in quoted)


def python_uses_event_time(text: str) -> bool:
    """True when the module calls something that drops records behind the watermark
    (tidebox's forest functions, through SQL, too)."""
    return bool(_EVENT_TIME_CALLS.search(text)) or uses_functions(text)


def call_build(
    build: Build, env: Any, path: Path, params: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The tables the job writes, by stream name, checked to be a non-empty mapping.

    A ``build(env, params)`` with a second parameter gets the job's parameters (strings).
    """
    takes_params = len(inspect.signature(build).parameters) > 1
    if params and not takes_params:
        raise JobError(str(path), "the job takes no parameters: build(env) has no params")
    try:
        outputs = build(env, dict(params or {})) if takes_params else build(env)
    except JobError:
        raise
    except Exception as exc:
        raise JobError(str(path), f"build() failed: {type(exc).__name__}: {exc}") from exc
    if not isinstance(outputs, Mapping) or not outputs:
        raise JobError(str(path), "build() must return {output stream: table}, non-empty")
    return dict(outputs)
