"""tidebox: a local streaming data-pipeline sandbox shaped like Amazon's streaming stack.

The Python API mirrors the CLI; the names below are imported on first use so that
``import tidebox`` stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_API = {
    "query": "tidebox.lake.query",
    "run_query": "tidebox.lake.query",
    "load_settings": "tidebox.core.settings",
    "Settings": "tidebox.core.settings",
    "TideboxError": "tidebox.core.errors",
    "run_demo": "tidebox.cli.demo",
    "write_project": "tidebox.core.scaffold",
    "start_broker": "tidebox.runtime",
    "stop_broker": "tidebox.runtime",
    "create_stream": "tidebox.streams.admin",
    "describe_stream": "tidebox.streams.admin",
    "replay": "tidebox.streams.replay",
    "write_dataset": "tidebox.streams.generate",
    "run_job": "tidebox.flink.runner",
    "run_sink": "tidebox.delivery.runner",
    "check_table": "tidebox.quality.landed",
    "evaluate_landed": "tidebox.quality.detection",
    "write_report": "tidebox.report",
    "run_nab_pipeline": "tidebox.cli.nab_pipeline",
}
__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(import_module(_API[name]), name)
    raise AttributeError(f"module 'tidebox' has no attribute {name!r}")
