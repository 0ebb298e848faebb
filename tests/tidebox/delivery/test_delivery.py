"""A delivery stream without Kafka: buffering, objects and their names, errors, crash recovery."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from tidebox.core.settings import SinkSpec
from tidebox.core.stores import LocalStore
from tidebox.delivery.delivery import DeliveryStream

COLUMNS = {"device_id": "STRING", "event_time": "TIMESTAMP(3)", "temperature": "DOUBLE"}
ARRIVAL = 1767225600000  # 2026-01-01T00:00:00Z
# the fields of Firehose's error documents, per error output type
FORMAT_CONVERSION_FIELDS = {
    "attemptsMade",
    "arrivalTimestamp",
    "lastErrorCode",
    "lastErrorMessage",
    "attemptEndingTimestamp",
    "rawData",
    "sequenceNumber",
    "subSequenceNumber",
    "dataCatalogTable",
}
PROCESSING_FIELDS = {
    "attemptsMade",
    "arrivalTimestamp",
    "errorCode",
    "errorMessage",
    "attemptEndingTimestamp",
    "rawData",
    "lambdaArn",
}
PARTITIONING_FIELDS = PROCESSING_FIELDS - {"lambdaArn"}


def reading(device: str = "d1", hour: int = 0, temperature: float = 20.0) -> bytes:
    stamp = f"2026-01-01T{hour:02d}:00:00Z"
    return json.dumps(
        {"device_id": device, "event_time": stamp, "temperature": temperature}
    ).encode()


def spec(**fields: Any) -> SinkSpec:
    base: dict[str, Any] = {
        "name": "ds",
        "stream": "readings",
        "prefix": "data/!{timestamp:yyyy/MM/dd/HH}/",
        "error_output_prefix": "errors/!{firehose:error-output-type}/",
        "buffering_hints": {"size_in_bytes": 10_000, "interval_in_seconds": 60},
    }
    return SinkSpec(**{**base, **fields})


def delivery(root: Path, **fields: Any) -> DeliveryStream:
    stream = DeliveryStream(spec(**fields), COLUMNS, LocalStore(root))
    stream.recover()
    return stream


def keys(root: Path) -> list[str]:
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and "_tidebox" not in p.parts
    )


def test_objects_are_named_as_firehose_names_them(tmp_path: Path) -> None:
    ds = delivery(tmp_path)
    for offset in range(3):
        ds.add(reading(), 1, 40 + offset, ARRIVAL + 3_600_000 + offset * 1000)
    assert ds.flush() == {1: 43}
    assert keys(tmp_path) == [
        "data/2026/01/01/01/ds-1-2026-01-01-01-00-00-0001-000000000040-000000000042.parquet"
    ]
    table = pq.read_table(tmp_path / keys(tmp_path)[0])
    assert table.num_rows == 3 and table.schema.names == list(COLUMNS)
    assert (
        pq.ParquetFile(tmp_path / keys(tmp_path)[0]).metadata.row_group(0).column(0).compression
        == "SNAPPY"
    )


def test_buffers_are_due_at_the_size_or_the_interval(tmp_path: Path) -> None:
    ds = delivery(tmp_path)
    ds.add(reading(), 0, 0, ARRIVAL)
    opened = ds.buffers.shards[0].opened
    assert ds.due(opened + 59) == [] and ds.due(opened + 60) == [0]
    while ds.buffered_bytes < 10_000:
        ds.add(reading(), 0, ds.buffered_records, ARRIVAL)
    assert ds.due(opened) == [0]
    assert ds.buffered_records == len(ds.buffers.shards[0].values)


def test_firehose_limits_on_buffering_hints() -> None:
    with pytest.raises(ValueError, match="needs 64-128"):
        SinkSpec(name="x", stream="s", buffering_hints={"size_in_mbs": 5})
    with pytest.raises(ValueError, match="less than or equal to 900"):
        SinkSpec(name="x", stream="s", buffering_hints={"interval_in_seconds": 901})
    assert SinkSpec(name="x", stream="s").buffer_bytes == 128 * 1024 * 1024
    assert SinkSpec(name="x", stream="s", output_format="json").buffer_bytes == 5 * 1024 * 1024
    json_spec = SinkSpec(
        name="x", stream="s", output_format="json", buffering_hints={"size_in_mbs": 1}
    )
    assert json_spec.buffer_bytes == 1024 * 1024


@pytest.mark.parametrize(
    ("codec", "name"), [("GZIP", "GZIP"), ("ZSTD", "ZSTD"), ("UNCOMPRESSED", "UNCOMPRESSED")]
)
def test_compression_codecs(tmp_path: Path, codec: str, name: str) -> None:
    ds = delivery(tmp_path, compression=codec)
    ds.add(reading(), 0, 0, ARRIVAL)
    ds.flush()
    meta = pq.ParquetFile(tmp_path / keys(tmp_path)[0]).metadata
    assert meta.row_group(0).column(0).compression == name


def test_json_output_without_conversion(tmp_path: Path) -> None:
    ds = delivery(tmp_path, output_format="json", compression="GZIP")
    records = [reading("a"), b"not even json", reading("b")]
    for offset, value in enumerate(records):
        ds.add(value, 0, offset, ARRIVAL)
    ds.flush()
    [key] = keys(tmp_path)
    assert key.endswith("-0000-000000000000-000000000002.gz")
    assert gzip.decompress((tmp_path / key).read_bytes()).splitlines() == records


def test_failed_records_become_firehose_error_documents(tmp_path: Path) -> None:
    ds = delivery(tmp_path)
    ds.add(reading("d1"), 0, 7, ARRIVAL)
    ds.add(b'{"device_id": "d2", "temperature": "warm"}', 0, 8, ARRIVAL + 5)
    ds.add(b"\x00garbage", 0, 9, ARRIVAL + 6)
    ds.flush()
    errors = [k for k in keys(tmp_path) if k.startswith("errors/")]
    assert errors == [
        "errors/format-conversion-failed/ds-1-2026-01-01-00-00-00-0000-000000000008-000000000009"
    ]
    documents = [json.loads(line) for line in (tmp_path / errors[0]).read_text().splitlines()]
    first = documents[0]
    assert set(first) == FORMAT_CONVERSION_FIELDS
    assert first["arrivalTimestamp"] == ARRIVAL + 5 and first["sequenceNumber"] == "8"
    assert first["subSequenceNumber"] == 0
    assert first["lastErrorCode"] == "DataFormatConversion.SchemaMismatch"
    assert set(first["dataCatalogTable"]) == {
        "catalogId",
        "databaseName",
        "tableName",
        "region",
        "versionId",
        "catalogArn",
    }
    assert first["dataCatalogTable"]["tableName"] == "readings"
    assert base64.b64decode(documents[1]["rawData"]) == b"\x00garbage"
    assert ds.progress[0].records_failed == 2 and ds.progress[0].records_out == 1


def test_dynamic_partitions_and_the_active_partition_limit(tmp_path: Path) -> None:
    ds = delivery(
        tmp_path,
        prefix="by/device=!{partitionKeyFromQuery:device}/",
        dynamic_partitioning={
            "partition_keys": {"device": ".device_id"},
            "active_partition_limit": 3,
        },
    )
    devices = ["a", "b", "a", "c", "d", "e", "b", "d"]
    for offset, device in enumerate(devices):
        ds.add(reading(device), 0, offset, ARRIVAL)
    ds.add(json.dumps({"event_time": "2026-01-01T00:00:00Z"}).encode(), 0, 8, ARRIVAL)
    ds.flush()
    data = [k for k in keys(tmp_path) if k.startswith("by/")]
    assert [k.split("/")[1] for k in data] == ["device=a", "device=b", "device=c"]
    exceeded = tmp_path / "errors" / "activePartitionExceeded"
    [(exceeded_file)] = list(exceeded.iterdir())
    exceeded_documents = [json.loads(x) for x in exceeded_file.read_text().splitlines()]
    assert all(set(d) == PARTITIONING_FIELDS for d in exceeded_documents)
    raws = [json.loads(base64.b64decode(d["rawData"])) for d in exceeded_documents]
    assert [r["device_id"] for r in raws] == ["d", "e", "d"]  # after the third partition
    assert exceeded_file.name.endswith("-0000-000000000004-000000000007")  # offsets 4, 5, 7
    assert {d["errorCode"] for d in exceeded_documents} == {
        "DynamicPartitioning.ActivePartitionsLimitExceeded"
    }
    [failed] = list((tmp_path / "errors" / "dynamic-partitioning-failed").iterdir())
    [failed_document] = [json.loads(x) for x in failed.read_text().splitlines()]
    assert set(failed_document) == PARTITIONING_FIELDS
    assert failed_document["errorCode"] == "DynamicPartitioning.MetadataExtractionFailed"
    assert "partition key 'device' is null" in failed_document["errorMessage"]


@pytest.mark.parametrize("hostile", ["../../outside", "..", "/etc/passwd", "a\x00b", "x" * 2000])
def test_hostile_partition_values_stay_inside_the_prefix(tmp_path: Path, hostile: str) -> None:
    bucket = tmp_path / "bucket"
    ds = delivery(
        bucket,
        prefix="by/device=!{partitionKeyFromQuery:device}/",
        dynamic_partitioning={"partition_keys": {"device": ".device_id"}},
    )
    ds.add(reading(hostile), 0, 0, ARRIVAL)
    ds.flush()
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert all(p.resolve().is_relative_to(bucket.resolve()) for p in written)
    data = [p for p in written if "by" in p.relative_to(bucket).parts]
    errors = [p for p in written if "errors" in p.relative_to(bucket).parts]
    if len(hostile) > 512:
        assert not data and len(errors) == 1
    else:
        [path] = data
        assert path.parent.parent == bucket / "by"
        assert pq.read_table(path).column("device_id").to_pylist() == [hostile]


def test_a_flush_cut_short_is_undone_or_completed_on_restart(tmp_path: Path) -> None:
    by_device = {
        "prefix": "by/!{partitionKeyFromQuery:device}/",
        "dynamic_partitioning": {"partition_keys": {"device": ".device_id"}},
    }
    ds = delivery(tmp_path, **by_device)
    for offset in range(5):
        ds.add(reading(), 0, offset, ARRIVAL)
    ds.flush()
    for offset in range(5, 9):
        ds.add(reading(f"d{offset}"), 0, offset, ARRIVAL)

    writes: list[str] = []
    real_put = ds.store.put

    def dies_after_two_objects(key: str, data: bytes) -> None:
        if len(writes) == 3:  # the pending state, then two of the four objects
            raise KeyboardInterrupt
        writes.append(key)
        real_put(key, data)

    ds.store.put = dies_after_two_objects  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        ds.flush()
    assert len(keys(tmp_path)) == 3  # one from the first flush, two from the one cut short

    restarted = DeliveryStream(spec(**by_device), COLUMNS, LocalStore(tmp_path))
    assert restarted.recover() == {0: 5}  # undone: the two objects are deleted
    assert len(keys(tmp_path)) == 1
    state = json.loads((tmp_path / "_tidebox/sinks/ds/state.json").read_text())
    assert state["pending"] is None and state["shards"]["0"]["records_out"] == 5

    for offset in range(5, 9):
        restarted.add(reading(f"d{offset}"), 0, offset, ARRIVAL)
    real = restarted.store.put
    count = {"n": 0}

    def dies_before_the_final_state(key: str, data: bytes) -> None:
        count["n"] += 1
        if count["n"] == 6:  # pending state, 4 objects, then the final state
            raise KeyboardInterrupt
        real(key, data)

    restarted.store.put = dies_before_the_final_state  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        restarted.flush()
    again = DeliveryStream(spec(**by_device), COLUMNS, LocalStore(tmp_path))
    assert again.recover() == {0: 9}  # completed: every object of the flush was there
    assert len(keys(tmp_path)) == 5
    assert again.progress[0].records_out == 9 and again.progress[0].objects == 5


def test_version_counts_configuration_changes(tmp_path: Path) -> None:
    first = delivery(tmp_path)
    assert first.version == 1
    assert delivery(tmp_path).version == 1
    changed = delivery(tmp_path, compression="ZSTD")
    assert changed.version == 2
    changed.add(reading(), 0, 0, ARRIVAL)
    changed.flush()
    assert "/ds-2-" in keys(tmp_path)[0]


def test_drop_deletes_only_its_own_objects(tmp_path: Path) -> None:
    ds = delivery(tmp_path)
    ds.add(reading(), 0, 0, ARRIVAL)
    ds.add(b"bad", 0, 1, ARRIVAL)
    ds.flush()
    other = tmp_path / "data" / "2026" / "01" / "01" / "00" / "ds-other.txt"
    other.write_text("not ours")
    assert ds.drop() == 2
    assert keys(tmp_path) == [other.relative_to(tmp_path).as_posix()]
    assert not (tmp_path / "_tidebox/sinks/ds/state.json").exists()


PROCESSOR = """
import base64, json

def handler(event, context):
    out = []
    for record in event["records"]:
        data = json.loads(base64.b64decode(record["data"]))
        if data["device_id"] == "drop":
            out.append({"recordId": record["recordId"], "result": "Dropped"})
        elif data["device_id"] == "fail":
            out.append({"recordId": record["recordId"], "result": "ProcessingFailed",
                        "data": record["data"]})
        else:
            data["temperature"] = data["temperature"] * 9 / 5 + 32
            out.append({
                "recordId": record["recordId"], "result": "Ok",
                "data": base64.b64encode(json.dumps(data).encode()).decode(),
                "metadata": {"partitionKeys": {"site": data["device_id"][:1]}},
            })
    return {"records": out}
"""


def test_the_transform_runs_before_conversion_and_partitions_by_its_keys(tmp_path: Path) -> None:
    module = tmp_path / "fahrenheit.py"
    module.write_text(PROCESSOR)
    bucket = tmp_path / "bucket"
    ds = delivery(
        bucket,
        prefix="f/site=!{partitionKeyFromLambda:site}/",
        processor={"function": f"{module}:handler", "buffer_size_in_mbs": 0.0001},
    )
    for offset, device in enumerate(["n1", "drop", "s1", "fail", "n2"]):
        ds.add(reading(device, temperature=100.0), 0, offset, ARRIVAL)
    ds.flush()
    progress = ds.progress[0]
    assert (progress.records_in, progress.records_out) == (5, 3)
    assert (progress.records_dropped, progress.records_failed) == (1, 1)
    assert progress.next_offset == 5
    north = pq.read_table(next((bucket / "f" / "site=n").iterdir())).to_pylist()
    assert [(r["device_id"], r["temperature"]) for r in north] == [("n1", 212.0), ("n2", 212.0)]
    [failed] = list((bucket / "errors" / "processing-failed").iterdir())
    document = json.loads(failed.read_text())
    assert set(document) == PROCESSING_FIELDS
    assert document["errorCode"] == "Lambda.ProcessingFailed"
    # the function is named after its file, as the Lambda context names it
    assert document["lambdaArn"] == "arn:aws:lambda:local:000000000000:function:fahrenheit"
    assert json.loads(base64.b64decode(document["rawData"]))["device_id"] == "fail"
    assert failed.name.endswith("-0000-000000000003-000000000003")  # its offset, 3


ARN_PROCESSOR = """
from pathlib import Path

def handler(event, context):
    Path(__file__).with_suffix(".arn").write_text(context.invoked_function_arn)
    return {"records": [{"recordId": r["recordId"], "result": "ProcessingFailed",
                         "data": r["data"]} for r in event["records"]]}
"""


def test_an_error_document_names_the_function_its_context_names(tmp_path: Path) -> None:
    module = tmp_path / "enrich.py"
    module.write_text(ARN_PROCESSOR)
    bucket = tmp_path / "bucket"
    ds = delivery(bucket, processor={"function": f"{module}:handler"})
    ds.add(reading(), 0, 0, ARRIVAL)
    ds.flush()
    [failed] = list((bucket / "errors" / "processing-failed").iterdir())
    document = json.loads(failed.read_text())
    assert document["lambdaArn"] == module.with_suffix(".arn").read_text()


def test_a_restart_removes_half_written_files_under_a_hive_prefix(tmp_path: Path) -> None:
    fields = {"prefix": "data/dt=!{timestamp:yyyy-MM-dd}/"}
    ds = delivery(tmp_path, **fields)
    ds.add(reading(), 0, 0, ARRIVAL)
    ds.flush()
    [folder] = list((tmp_path / "data").iterdir())
    half = folder / ".ds-1-2026-01-01-00-00-00-0000-000000000001-000000000009.parquet.tmp"
    half.write_bytes(b"PAR1 cut short")
    DeliveryStream(spec(**fields), COLUMNS, LocalStore(tmp_path)).recover()
    assert not half.exists()
    assert len(keys(tmp_path)) == 1  # the whole object stays


def test_a_restart_leaves_other_streams_files_being_written_alone(tmp_path: Path) -> None:
    """The default error prefix starts at the bucket's root: recovering one delivery stream
    must not delete what another stream of the bucket is writing at that moment (its objects
    and its state), which made the second of two streams started at once fail."""
    others = [
        tmp_path / "b" / ".other-1-2026-01-01-00-00-00-0000-000000000001-000000000009.parquet.tmp",
        tmp_path / "_tidebox" / "sinks" / "other" / ".state.json.tmp",
        tmp_path / ".ds_b-1-2026-01-01-00-00-00-0000-000000000001-000000000009.tmp",
    ]
    own = tmp_path / ".ds-1-2026-01-01-00-00-00-0000-000000000001-000000000009.tmp"
    for path in [*others, own]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"being written")
    default_errors = spec(error_output_prefix=None)  # errors under the bucket's root
    DeliveryStream(default_errors, COLUMNS, LocalStore(tmp_path)).recover()
    assert all(path.exists() for path in others)
    assert not own.exists()


class FailingStateStore(LocalStore):
    """A folder whose next write of a final state (no ``pending``) fails, once, when armed."""

    armed = False

    def put(self, key: str, data: bytes) -> None:
        if self.armed and key.endswith("state.json") and json.loads(data)["pending"] is None:
            self.armed = False
            raise OSError("the state write failed")
        super().put(key, data)


def test_a_flush_retried_after_its_state_write_failed_loses_and_doubles_nothing(
    tmp_path: Path,
) -> None:
    store = FailingStateStore(tmp_path)
    ds = DeliveryStream(spec(buffering_hints={"size_in_bytes": 150}), COLUMNS, store)
    ds.recover()
    for offset in range(4):  # about 90 bytes each: two objects of two, none left over
        ds.add(reading(f"d{offset}"), 0, offset, ARRIVAL)
    store.armed = True
    with pytest.raises(OSError):
        ds.flush(final=False)
    assert ds.buffered_records == 4  # nothing trimmed by a flush that did not commit
    assert ds.flush(final=False) == {0: 4}
    assert ds.buffered_records == 0
    rows = [r for key in keys(tmp_path) for r in pq.read_table(tmp_path / key).to_pylist()]
    assert sorted(r["device_id"] for r in rows) == ["d0", "d1", "d2", "d3"]
    assert (ds.progress[0].records_in, ds.progress[0].records_out) == (4, 4)
