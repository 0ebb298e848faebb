"""tidebox: a local streaming data-pipeline sandbox shaped like Amazon's streaming stack.

The Python API mirrors the CLI; the names below are imported on first use so that
``import tidebox`` stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

# Bound eagerly: the submodule tidebox.query would otherwise shadow the function of its name.
from tidebox.query import query as query
from tidebox.query import run_query as run_query

__version__ = "0.1.0"

_API = {
    "load_settings": "tidebox.config",
    "Settings": "tidebox.config",
    "TideboxError": "tidebox.errors",
    "run_demo": "tidebox.demo",
    "start_broker": "tidebox.runtime",
    "stop_broker": "tidebox.runtime",
    "create_stream": "tidebox.streams",
    "describe_stream": "tidebox.streams",
    "replay": "producers.replay",
    "write_dataset": "producers.generate",
    "run_job": "jobs.runner",
    "run_sink": "sinks.runner",
    "check_table": "expectations.landed",
}
__all__ = sorted([*_API, "query", "run_query"])


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(import_module(_API[name]), name)
    raise AttributeError(f"module 'tidebox' has no attribute {name!r}")
