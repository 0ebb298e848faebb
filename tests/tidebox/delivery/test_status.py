"""``tidebox sink status`` without Kafka: what the recorded state says."""

from __future__ import annotations

from pathlib import Path

import pytest

from tidebox.core.errors import TideboxError
from tidebox.core.settings import Settings, SinkSpec
from tidebox.core.stores import LocalStore
from tidebox.delivery.delivery import DeliveryStream
from tidebox.delivery.status import sink_status


def test_status_reads_the_state_even_when_the_transform_is_broken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tidebox.streams.admin as admin

    def no_kafka(*_: object) -> None:
        raise TideboxError("no Kafka here")

    monkeypatch.setattr(admin, "shard_offsets", no_kafka)
    spec = SinkSpec(name="ds", stream="readings", columns={"a": "BIGINT"})
    settings = Settings(bucket=tmp_path / "bucket", state_dir=tmp_path / "state", sinks=(spec,))
    delivery = DeliveryStream(spec, dict(spec.columns), LocalStore(settings.bucket_path))
    delivery.recover()
    delivery.add(b'{"a": 1}', 0, 0, 1767225600000)
    delivery.flush()
    broken = tmp_path / "broken.py"
    broken.write_text("this is not python\n")
    processed = SinkSpec(**{**spec.model_dump(), "processor": {"function": f"{broken}:handler"}})
    status = sink_status(settings, processed)
    assert (status.records_in, status.records_out, status.objects) == (1, 1, 1)
    assert (status.running, status.lag) == (False, None)
