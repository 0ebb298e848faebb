"""The Firehose API through real boto3: delivery streams created, fed and deleted over HTTP,
their Parquet landed and queried, a Kinesis stream as source, and the errors AWS gives."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support import free_port, unique, wait_for
from tests.tidebox.api.conftest import client
from tidebox.api.server import ServerThread, start_in_thread
from tidebox.core.settings import Settings, SinkSpec, read_created_sinks

pytestmark = pytest.mark.integration

ROLE = "arn:aws:iam::000000000000:role/firehose"
TRANSFORMS = '''
import base64, json

def add_source(event, context):
    """A Firehose transformation Lambda: tags every record with where it came through."""
    out = []
    for record in event["records"]:
        doc = json.loads(base64.b64decode(record["data"]))
        doc["via"] = "lambda"
        data = base64.b64encode(json.dumps(doc).encode()).decode()
        out.append({"recordId": record["recordId"], "result": "Ok", "data": data})
    return {"records": out}
'''


def firehose_settings(kafka_settings: Settings, root: Path, **changes: Any) -> Settings:
    """Settings of an endpoint with a state folder, bucket and project of its own (so that
    the delivery streams it resumes are only its own), over the session's broker."""
    project = root / "project"
    (project / "sinks").mkdir(parents=True, exist_ok=True)
    (project / "sinks" / "transforms.py").write_text(TRANSFORMS)
    return kafka_settings.model_copy(
        update={
            "state_dir": root / "state",
            "bucket": root / "bucket",
            "project_dir": project,
            "api_port": free_port(),
            **changes,
        }
    )


@pytest.fixture(scope="module")
def fh_settings(kafka_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return firehose_settings(kafka_settings, tmp_path_factory.mktemp("firehose"))


@pytest.fixture(scope="module")
def fh_endpoint(fh_settings: Settings) -> Iterator[ServerThread]:
    running = start_in_thread(fh_settings)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def firehose(fh_endpoint: ServerThread) -> Any:
    return client("firehose", fh_endpoint.url)


def error_of(call: Any, **kwargs: Any) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    response = caught.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Message"],
    )


def describe(firehose: Any, name: str) -> dict[str, Any]:
    found: dict[str, Any] = firehose.describe_delivery_stream(DeliveryStreamName=name)
    return found["DeliveryStreamDescription"]


def wait_active(firehose: Any, name: str) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def active() -> bool:
        seen.update(describe(firehose, name))
        assert seen["DeliveryStreamStatus"] != "CREATING_FAILED", seen.get("FailureDescription")
        return bool(seen["DeliveryStreamStatus"] == "ACTIVE")

    wait_for(active, 60, f"delivery stream {name} to be ACTIVE")
    return seen


def json_destination(bucket: str, prefix: str, interval: int = 1, **more: Any) -> dict[str, Any]:
    return {
        "RoleARN": ROLE,
        "BucketARN": f"arn:aws:s3:::{bucket}",
        "Prefix": prefix,
        "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": interval},
        **more,
    }


def landed_lines(folder: Path) -> list[dict[str, Any]]:
    """Every record of the JSON objects under ``folder`` (error objects aside)."""
    lines = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            lines += [json.loads(line) for line in path.read_text().splitlines() if line]
    return lines


# -- DirectPut, Parquet, dynamic partitioning ------------------------------------------------------
def test_direct_put_lands_parquet_by_partition_and_it_is_queried(
    firehose: Any, fh_settings: Settings
) -> None:
    from tidebox.delivery.status import sink_status
    from tidebox.lake.catalog import using_catalog
    from tidebox.lake.catalog_store import CatalogTable
    from tidebox.lake.query import run_query

    schema = unique("readings_schema")
    with using_catalog(fh_settings) as catalog:  # the Glue table that holds the schema
        catalog.put(
            CatalogTable(
                schema,
                str(fh_settings.bucket_path / "nowhere"),
                columns=(
                    ("device_id", "string"),
                    ("event_time", "timestamp"),
                    ("temperature", "double"),
                ),
            )
        )
    name = unique("fh_parquet")
    destination = {
        "RoleARN": ROLE,
        "BucketARN": "arn:aws:s3:::lake",
        "Prefix": f"{name}/device=!{{partitionKeyFromQuery:device}}/",
        "ErrorOutputPrefix": f"errors/{name}/!{{firehose:error-output-type}}/",
        "BufferingHints": {"SizeInMBs": 64, "IntervalInSeconds": 1},
        "DataFormatConversionConfiguration": {
            "SchemaConfiguration": {
                "DatabaseName": "default",
                "TableName": schema,
                "RoleARN": ROLE,
            },
            "InputFormatConfiguration": {"Deserializer": {"OpenXJsonSerDe": {}}},
            "OutputFormatConfiguration": {"Serializer": {"ParquetSerDe": {"Compression": "GZIP"}}},
        },
        "DynamicPartitioningConfiguration": {"Enabled": True},
        "ProcessingConfiguration": {
            "Enabled": True,
            "Processors": [
                {
                    "Type": "MetadataExtraction",
                    "Parameters": [
                        {
                            "ParameterName": "MetadataExtractionQuery",
                            "ParameterValue": "{device: .device_id}",
                        },
                        {"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"},
                    ],
                }
            ],
        },
    }
    created = firehose.create_delivery_stream(
        DeliveryStreamName=name,
        DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration=destination,
        Tags=[{"Key": "team", "Value": "iot"}],
    )
    assert created["DeliveryStreamARN"] == (
        f"arn:aws:firehose:eu-west-1:000000000000:deliverystream/{name}"
    )
    description = wait_active(firehose, name)
    assert description["DeliveryStreamType"] == "DirectPut"
    assert description["VersionId"] == "1"
    assert description["HasMoreDestinations"] is False
    [target] = description["Destinations"]
    extended = target["ExtendedS3DestinationDescription"]
    assert extended["BufferingHints"] == {"SizeInMBs": 64, "IntervalInSeconds": 1}
    assert extended["Prefix"] == destination["Prefix"]
    assert extended["CompressionFormat"] == "UNCOMPRESSED"
    assert (
        extended["DataFormatConversionConfiguration"]
        == destination["DataFormatConversionConfiguration"]
    )
    assert extended["ProcessingConfiguration"] == destination["ProcessingConfiguration"]
    assert target["S3DestinationDescription"]["BucketARN"] == "arn:aws:s3:::lake"
    assert firehose.list_tags_for_delivery_stream(DeliveryStreamName=name)["Tags"] == [
        {"Key": "team", "Value": "iot"}
    ]

    rows = [
        {
            "device_id": f"d{i % 3}",
            "event_time": f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}.000Z",
            "temperature": 20.0 + i / 4,
        }
        for i in range(120)
    ]
    records = [{"Data": json.dumps(r).encode()} for r in rows]
    records.append({"Data": b'{"device_id": "d0", "temperature": "hot"}'})  # cannot convert
    answer = firehose.put_record_batch(DeliveryStreamName=name, Records=records)
    assert answer["FailedPutCount"] == 0
    ids = [r["RecordId"] for r in answer["RequestResponses"]]
    assert len(set(ids)) == len(records)
    created_ms = int(description["CreateTimestamp"].timestamp() * 1000)
    assert [(int(i[:13]), int(i[13:17]), int(i[17:])) for i in ids] == [
        (created_ms, 0, offset) for offset in range(len(records))
    ]

    def landed() -> int:
        try:
            return int(
                run_query(fh_settings, f"SELECT count(*) AS n FROM {name}").table[0][0].as_py()
            )
        except Exception:
            return 0  # the table appears with the first delivery

    wait_for(lambda: landed() == len(rows), 60, f"{len(rows)} rows of {name}")
    got = run_query(
        fh_settings,
        f"SELECT device_id, device, epoch_ms(event_time) AS ms, temperature FROM {name} "
        "ORDER BY ms",
    ).table.to_pylist()
    from datetime import datetime

    assert got == [
        {
            "device_id": r["device_id"],
            "device": r["device_id"],
            "ms": int(datetime.fromisoformat(r["event_time"]).timestamp() * 1000),
            "temperature": r["temperature"],
        }
        for r in rows
    ]
    lake = fh_settings.bucket_path / "lake"
    folders = sorted(p.name for p in (lake / name).iterdir())
    assert folders == ["device=d0", "device=d1", "device=d2"]
    assert all(f.suffix == ".parquet" for f in (lake / name).rglob("*") if f.is_file())
    wait_for(
        lambda: any((lake / "errors" / name / "format-conversion-failed").glob("*")),
        30,
        "the record that could not be converted in the error output",
    )

    # a tidebox delivery stream like any other: its spec kept, its status read
    [spec] = [s for s in read_created_sinks(fh_settings.state_dir) if s["name"] == name]
    status = sink_status(fh_settings, SinkSpec(**spec))
    assert status.running and status.records_out == len(rows) and status.records_failed == 1

    firehose.delete_delivery_stream(DeliveryStreamName=name)
    assert name not in firehose.list_delivery_streams(Limit=10_000)["DeliveryStreamNames"]
    assert len(list((lake / name).rglob("*.parquet"))) >= 3  # what it delivered stays
