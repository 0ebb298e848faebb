"""A delivery stream that names a DQDL ruleset checks each object it delivers: the results are
recorded per object, and neither a failing rule nor a ruleset that cannot run stops delivery or
loses a record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import produce, readings_spec, with_stream
from tidebox.core.settings import Settings, SinkSpec
from tidebox.delivery.quality import quality_folder
from tidebox.delivery.runner import drop_sink, run_sink
from tidebox.delivery.specs import sink_store
from tidebox.delivery.status import sink_status
from tidebox.lake.query import run_query
from tidebox.streams.admin import create_stream

pytestmark = pytest.mark.integration

RULESET = 'Rules = [ RowCount > 0, ColumnValues "device_id" = "d1" ]'


def records(count: int) -> list[bytes]:
    """``count`` readings: the first half of device d1, the rest of d2 (which the rules fail)."""
    return [
        json.dumps(
            {
                "device_id": "d1" if i < count // 2 else "d2",
                "event_time": f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}Z",
                "temperature": 20.0,
            }
        ).encode()
        for i in range(count)
    ]


def sized(name: str, values: list[bytes], ruleset: str) -> SinkSpec:
    """A delivery stream that cuts an object every 50 records or so, checked by ``ruleset``."""
    size = sum(len(v) for v in values[:50])
    return SinkSpec(
        name=name,
        stream=name,
        prefix="checked/",
        buffering_hints={"size_in_bytes": size, "interval_in_seconds": 900},
        ruleset=ruleset,
    )


def test_each_object_is_checked_and_failures_stop_nothing(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    spec = readings_spec(kafka_settings, "checked", shards=1)
    settings = with_stream(kafka_settings, spec, bucket=tmp_path / "bucket")
    create_stream(settings, spec.name, shards=1)
    values = records(200)
    produce(settings, spec.name, values)
    rules = tmp_path / "d1_only.dqdl"
    rules.write_text(RULESET)
    sink = sized(spec.name, values, str(rules))

    result = run_sink(settings, sink)
    assert result.records_out == 200 and len(result.files) >= 4
    landed = run_query(settings, f"SELECT count(*) AS n FROM {spec.name}").table.to_pylist()
    assert landed == [{"n": 200}]  # every record, the failing objects' too

    store = sink_store(settings, sink)
    outcomes = {}
    for obj in result.files:
        raw = store.get(f"{quality_folder(spec.name)}/{obj.key.rsplit('/', 1)[-1]}.json")
        assert raw is not None, obj.key
        document = json.loads(raw)
        assert document["Object"] == obj.key
        outcomes[obj.key] = [r["Result"] for r in document["RuleResults"]]
    assert ["PASS", "PASS"] in outcomes.values() and ["PASS", "FAIL"] in outcomes.values()

    status = sink_status(settings, sink)
    quality = status.quality
    assert quality is not None and quality.checked == len(result.files)
    assert quality.passed + quality.failed == quality.checked and quality.failed >= 1
    assert quality.latest is not None and quality.latest.key == result.files[-1].key
    assert quality.latest.result == "FAIL" and "device_id" in quality.latest.message

    drop_sink(settings, sink)  # forgets the checks with the objects
    assert store.list(quality_folder(spec.name) + "/") == []


def test_a_ruleset_that_cannot_run_is_recorded_as_an_error(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    spec = readings_spec(kafka_settings, "unchecked", shards=1)
    settings = with_stream(kafka_settings, spec, bucket=tmp_path / "bucket")
    create_stream(settings, spec.name, shards=1)
    values = records(120)
    produce(settings, spec.name, values)
    sink = sized(spec.name, values, "no_such_ruleset")

    result = run_sink(settings, sink)
    assert result.records_out == 120 and result.records_failed == 0
    quality = sink_status(settings, sink).quality
    assert quality is not None and quality.errors == quality.checked == len(result.files)
    assert quality.latest is not None and "no such ruleset" in quality.latest.message


def test_a_ruleset_needs_parquet_output() -> None:
    with pytest.raises(ValueError, match="parquet output only"):
        SinkSpec(name="j", stream="j", output_format="json", ruleset="r")
