"""Delivery streams created from the CLI: kept with paths that hold from any folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tidebox.core.settings import Settings, SinkSpec, created_sink_path
from tidebox.delivery.registry import create_sink

HANDLER = """
def handler(event, context):
    return {"records": []}
"""


def test_created_sinks_keep_absolute_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "procs").mkdir()
    (tmp_path / "procs" / "enrich.py").write_text(HANDLER)
    settings = Settings(bucket=tmp_path / "bucket", state_dir=tmp_path / "state")
    spec = SinkSpec(
        name="made",
        stream="readings",
        destination="out",
        columns={"a": "BIGINT"},
        processor={"function": "procs/enrich.py:handler"},
    )
    create_sink(settings, spec)
    saved = json.loads(created_sink_path(settings.state_dir, "made").read_text())
    assert saved["destination"] == str(tmp_path / "out")
    assert saved["processor"]["function"] == f"{tmp_path / 'procs' / 'enrich.py'}:handler"
