"""The Firehose API through real boto3: delivery streams created, fed and deleted over HTTP,
their Parquet landed and queried, a Kinesis stream as source, and the errors AWS gives."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import free_port, unique, wait_for
from tests.tidebox.api.conftest import client, error_of
from tidebox.api.server import ServerThread, start_in_thread
from tidebox.core.settings import Settings, SinkSpec, read_created_sinks

pytestmark = pytest.mark.integration

ROLE = "arn:aws:iam::000000000000:role/firehose"
AWS = str(Path(sys.executable).parent / "aws")  # the AWS CLI installed with tidebox's dev tools
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
    created_ms = round(description["CreateTimestamp"].timestamp() * 1000)
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


# -- a Kinesis stream as source, to S3, through a Lambda -------------------------------------------
def test_a_kinesis_source_is_delivered_from_creation_on_through_the_lambda_to_s3(
    kafka_settings: Settings, s3_endpoint: str, tmp_path: Path
) -> None:
    import gzip

    import boto3

    from tests.support import make_bucket

    settings = firehose_settings(kafka_settings, tmp_path, s3_endpoint=s3_endpoint)
    bucket = make_bucket(s3_endpoint)
    running = start_in_thread(settings)
    try:
        kinesis, firehose = client("kinesis", running.url), client("firehose", running.url)
        stream = unique("fh_source")
        kinesis.create_stream(StreamName=stream, ShardCount=2)
        kinesis.get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 1})
        stream_arn = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"][
            "StreamARN"
        ]

        def put(kind: str, count: int) -> None:
            entries = [
                {"Data": json.dumps({"n": i, "kind": kind}).encode(), "PartitionKey": f"k{i}"}
                for i in range(count)
            ]
            assert kinesis.put_records(StreamName=stream, Records=entries)["FailedRecordCount"] == 0

        put("before", 10)  # Firehose reads from LATEST: these stay behind
        name = unique("fh_kinesis")
        lambda_arn = "arn:aws:lambda:eu-west-1:000000000000:function:add_source"
        firehose.create_delivery_stream(
            DeliveryStreamName=name,
            DeliveryStreamType="KinesisStreamAsSource",
            KinesisStreamSourceConfiguration={"KinesisStreamARN": stream_arn, "RoleARN": ROLE},
            ExtendedS3DestinationConfiguration=json_destination(
                bucket,
                "kin/",
                CompressionFormat="GZIP",
                ProcessingConfiguration={
                    "Enabled": True,
                    "Processors": [
                        {
                            "Type": "Lambda",
                            "Parameters": [
                                {"ParameterName": "LambdaArn", "ParameterValue": lambda_arn},
                                {"ParameterName": "NumberOfRetries", "ParameterValue": "1"},
                            ],
                        }
                    ],
                },
            ),
        )
        description = wait_active(firehose, name)
        source = description["Source"]["KinesisStreamSourceDescription"]
        assert (source["KinesisStreamARN"], source["RoleARN"]) == (stream_arn, ROLE)
        assert "DeliveryStartTimestamp" in source
        code, status, message = error_of(
            firehose.put_record, DeliveryStreamName=name, Record={"Data": b"{}"}
        )
        assert (code, status) == ("InvalidArgumentException", 400)
        assert (
            message
            == "This operation is not permitted on KinesisStreamAsSource delivery stream type."
        )
        listed = firehose.list_delivery_streams(DeliveryStreamType="KinesisStreamAsSource")
        assert name in listed["DeliveryStreamNames"]
        assert (
            name
            not in firehose.list_delivery_streams(DeliveryStreamType="DirectPut")[
                "DeliveryStreamNames"
            ]
        )

        put("after", 20)
        s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")

        def delivered() -> list[dict[str, Any]]:
            found = []
            for item in s3.list_objects_v2(Bucket=bucket, Prefix="kin/").get("Contents", []):
                assert item["Key"].endswith(".gz"), item["Key"]
                body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
                found += [json.loads(line) for line in gzip.decompress(body).splitlines()]
            return found

        wait_for(lambda: len(delivered()) >= 20, 60, "20 records in S3")
        got = sorted(delivered(), key=lambda d: d["n"])
        assert got == [{"n": i, "kind": "after", "via": "lambda"} for i in range(20)]

        firehose.delete_delivery_stream(DeliveryStreamName=name)
        code, status, _ = error_of(firehose.describe_delivery_stream, DeliveryStreamName=name)
        assert (code, status) == ("ResourceNotFoundException", 400)
        assert stream in kinesis.list_streams()["StreamNames"]  # the source is not Firehose's

        broken = unique("fh_no_bucket")  # a bucket the S3 endpoint does not have
        firehose.create_delivery_stream(
            DeliveryStreamName=broken,
            ExtendedS3DestinationConfiguration=json_destination("no-such-bucket-here", "x/"),
        )

        def failed() -> bool:
            return bool(describe(firehose, broken)["DeliveryStreamStatus"] == "CREATING_FAILED")

        wait_for(failed, 60, f"{broken} CREATING_FAILED")
        failure = describe(firehose, broken)["FailureDescription"]
        assert failure["Type"] == "UNKNOWN_ERROR" and "no-such-bucket-here" in failure["Details"]
        code, status, _ = error_of(
            firehose.put_record, DeliveryStreamName=broken, Record={"Data": b"{}"}
        )
        assert (code, status) == ("ServiceUnavailableException", 503)
        firehose.delete_delivery_stream(DeliveryStreamName=broken)
    finally:
        running.stop()


# -- the AWS CLI ----------------------------------------------------------------------------------
def aws(url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real AWS CLI (PyPI awscli) against the endpoint, with throwaway credentials."""
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "tidebox",
        "AWS_SECRET_ACCESS_KEY": "tidebox",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_MAX_ATTEMPTS": "1",
    }
    command = [AWS, "--endpoint-url", url, "--output", "json", "firehose", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def aws_json(url: str, tmp_path: Path, *args: str) -> Any:
    done = aws(url, tmp_path, *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else {}


def test_the_aws_cli_creates_describes_lists_puts_and_deletes(
    fh_endpoint: ServerThread, fh_settings: Settings, tmp_path: Path
) -> None:
    from tidebox.streams.admin import list_streams

    url, name = fh_endpoint.url, unique("fh_cli")
    destination = json_destination("cli-bucket", f"{name}/")
    created = aws_json(
        url,
        tmp_path,
        "create-delivery-stream",
        "--delivery-stream-name",
        name,
        "--delivery-stream-type",
        "DirectPut",
        "--extended-s3-destination-configuration",
        json.dumps(destination),
    )
    assert created["DeliveryStreamARN"].endswith(f":deliverystream/{name}")

    def active() -> bool:
        described = aws_json(
            url, tmp_path, "describe-delivery-stream", "--delivery-stream-name", name
        )["DeliveryStreamDescription"]
        return bool(described["DeliveryStreamStatus"] == "ACTIVE")

    wait_for(active, 60, f"{name} ACTIVE through the CLI")
    listed = aws_json(url, tmp_path, "list-delivery-streams", "--limit", "10000")
    assert name in listed["DeliveryStreamNames"] and listed["HasMoreDeliveryStreams"] is False
    record = json.dumps({"Data": json.dumps({"from": "the cli", "n": 1})})
    put = aws_json(url, tmp_path, "put-record", "--delivery-stream-name", name, "--record", record)
    assert put["RecordId"] and put["Encrypted"] is False

    folder = fh_settings.bucket_path / "cli-bucket" / name
    wait_for(lambda: landed_lines(folder) == [{"from": "the cli", "n": 1}], 60, "the record")
    assert f"__firehose-{name}" in {s for s in _topics(fh_settings)}  # its own Kafka stream
    assert f"__firehose-{name}" not in list_streams(fh_settings)  # hidden, as Firehose's are

    aws_json(url, tmp_path, "delete-delivery-stream", "--delivery-stream-name", name)
    gone = aws(url, tmp_path, "describe-delivery-stream", "--delivery-stream-name", name)
    assert gone.returncode != 0
    assert "ResourceNotFoundException" in gone.stderr
    assert f"Firehose {name} under account 000000000000 not found." in gone.stderr
    assert name not in aws_json(url, tmp_path, "list-delivery-streams")["DeliveryStreamNames"]
    assert not (fh_settings.state_dir / "sinks" / name).exists()
    wait_for(lambda: f"__firehose-{name}" not in _topics(fh_settings), 30, "its stream deleted")
    assert landed_lines(folder) == [{"from": "the cli", "n": 1}]  # delivered objects stay


def _topics(settings: Settings) -> set[str]:
    from tidebox.core.clients import make_admin

    admin = make_admin(settings)
    try:
        return set(admin.list_topics())
    finally:
        admin.close()


# -- errors ---------------------------------------------------------------------------------------
def parquet_destination(table: str, **changes: Any) -> dict[str, Any]:
    destination = {
        "RoleARN": ROLE,
        "BucketARN": "arn:aws:s3:::lake",
        "Prefix": "p/",
        "DataFormatConversionConfiguration": {
            "SchemaConfiguration": {"DatabaseName": "default", "TableName": table},
            "InputFormatConfiguration": {"Deserializer": {"OpenXJsonSerDe": {}}},
            "OutputFormatConfiguration": {"Serializer": {"ParquetSerDe": {}}},
        },
    }
    return {**destination, **changes}


def processors(*entries: tuple[str, dict[str, str]]) -> dict[str, Any]:
    return {
        "Enabled": True,
        "Processors": [
            {
                "Type": kind,
                "Parameters": [
                    {"ParameterName": k, "ParameterValue": v} for k, v in parameters.items()
                ],
            }
            for kind, parameters in entries
        ],
    }


EXTRACT = (
    "MetadataExtraction",
    {"MetadataExtractionQuery": "{d: .device_id}", "JsonParsingEngine": "JQ-1.6"},
)
BAD_DESTINATIONS: list[tuple[dict[str, Any], str, str]] = [
    (json_destination("b", "p/", CompressionFormat="ZIP"), "InvalidArgumentException", "ZIP"),
    (
        parquet_destination("sensor_readings", BufferingHints={"SizeInMBs": 5}),
        "InvalidArgumentException",
        "at least 64",
    ),
    (
        parquet_destination("sensor_readings", CompressionFormat="GZIP"),
        "InvalidArgumentException",
        "must be UNCOMPRESSED",
    ),
    (parquet_destination("no_such_table"), "InvalidArgumentException", "no_such_table"),
    (
        parquet_destination(
            "sensor_readings",
            DataFormatConversionConfiguration={
                "SchemaConfiguration": {"DatabaseName": "d", "TableName": "sensor_readings"},
                "InputFormatConfiguration": {"Deserializer": {"OpenXJsonSerDe": {}}},
                "OutputFormatConfiguration": {"Serializer": {"OrcSerDe": {}}},
            },
        ),
        "InvalidArgumentException",
        "OrcSerDe",
    ),
    (
        json_destination("b", "p/", BufferingHints={"SizeInMBs": 500}),
        "ValidationException",
        "'extendedS3DestinationConfiguration.bufferingHints.sizeInMBs' failed to satisfy "
        "constraint: Member must have value less than or equal to 128",
    ),
    (
        json_destination(
            "b", "p/", ProcessingConfiguration=processors(("RecordDeAggregation", {}))
        ),
        "InvalidArgumentException",
        "RecordDeAggregation",
    ),
    (
        json_destination(
            "b",
            "p/!{partitionKeyFromQuery:d}/",
            BufferingHints={"SizeInMBs": 64},
            DynamicPartitioningConfiguration={"Enabled": True},
            ProcessingConfiguration=processors(EXTRACT),
        ),
        "InvalidArgumentException",
        "ErrorOutputPrefix is required",
    ),
    (
        json_destination(
            "b",
            "p/!{partitionKeyFromQuery:d}/",
            ErrorOutputPrefix="e/",
            BufferingHints={"SizeInMBs": 64},
            DynamicPartitioningConfiguration={"Enabled": True},
            ProcessingConfiguration=processors(
                (
                    "MetadataExtraction",
                    {"MetadataExtractionQuery": "{d: .x[}", "JsonParsingEngine": "JQ-1.6"},
                )
            ),
        ),
        "InvalidArgumentException",
        "not valid jq",
    ),
    (
        json_destination(
            "b",
            "p/!{partitionKeyFromQuery:other}/",
            ErrorOutputPrefix="e/",
            BufferingHints={"SizeInMBs": 64},
            DynamicPartitioningConfiguration={"Enabled": True},
            ProcessingConfiguration=processors(EXTRACT),
        ),
        "InvalidArgumentException",
        "unknown partition key 'other'",
    ),
    (
        json_destination(
            "b",
            "p/",
            ProcessingConfiguration=processors(
                ("Lambda", {"LambdaArn": "arn:aws:lambda:eu-west-1:000000000000:function:nope"})
            ),
        ),
        "InvalidArgumentException",
        "Lambda function nope",
    ),
    (
        json_destination(
            "b",
            "p/",
            ProcessingConfiguration=processors(
                (
                    "Lambda",
                    {
                        "LambdaArn": "arn:aws:lambda:eu-west-1:000000000000:function:add_source",
                        "BufferIntervalInSeconds": "60",
                    },
                )
            ),
        ),
        "InvalidArgumentException",
        "BufferIntervalInSeconds",
    ),
    (
        json_destination("b", "p/", S3BackupMode="Enabled"),
        "InvalidArgumentException",
        "S3BackupMode",
    ),
]


@pytest.mark.parametrize(("destination", "code", "words"), BAD_DESTINATIONS)
def test_a_configuration_tidebox_cannot_honour_is_refused_and_leaves_nothing(
    firehose: Any, fh_settings: Settings, destination: dict[str, Any], code: str, words: str
) -> None:
    name = unique("fh_bad")
    got, status, message = error_of(
        firehose.create_delivery_stream,
        DeliveryStreamName=name,
        ExtendedS3DestinationConfiguration=destination,
    )
    assert (got, status) == (code, 400), message
    assert words in message
    assert name not in firehose.list_delivery_streams(Limit=10_000)["DeliveryStreamNames"]
    assert not (fh_settings.state_dir / "sinks" / name).exists()
    assert f"__firehose-{name}" not in _topics(fh_settings)


def test_missing_duplicate_oversize_and_misplaced_calls_get_aws_errors(
    firehose: Any, fh_settings: Settings
) -> None:
    code, status, message = error_of(firehose.describe_delivery_stream, DeliveryStreamName="nope")
    assert (code, status, message) == (
        "ResourceNotFoundException",
        400,
        "Firehose nope under account 000000000000 not found.",
    )
    for call, extra in (
        (firehose.put_record, {"Record": {"Data": b"x"}}),
        (firehose.put_record_batch, {"Records": [{"Data": b"x"}]}),
        (firehose.delete_delivery_stream, {}),
        (firehose.list_tags_for_delivery_stream, {}),
    ):
        assert error_of(call, DeliveryStreamName="nope", **extra)[:2] == (
            "ResourceNotFoundException",
            400,
        )

    name = unique("fh_errors")
    destination = json_destination("errors-bucket", f"{name}/")
    firehose.create_delivery_stream(
        DeliveryStreamName=name, ExtendedS3DestinationConfiguration=destination
    )
    code, status, message = error_of(
        firehose.create_delivery_stream,
        DeliveryStreamName=name,
        ExtendedS3DestinationConfiguration=destination,
    )
    assert (code, status) == ("ResourceInUseException", 400)
    assert message == f"Firehose {name} under accountId 000000000000 already exists."
    code, _, message = error_of(  # tidebox's own delivery stream of that name
        firehose.create_delivery_stream,
        DeliveryStreamName="sensor_readings",
        ExtendedS3DestinationConfiguration=destination,
    )
    assert code == "ResourceInUseException" and "tidebox delivery stream" in message
    code, _, message = error_of(
        firehose.create_delivery_stream,
        DeliveryStreamName=unique("fh_no_source"),
        DeliveryStreamType="KinesisStreamAsSource",
        KinesisStreamSourceConfiguration={
            "KinesisStreamARN": "arn:aws:kinesis:eu-west-1:000000000000:stream/no_such_stream",
            "RoleARN": ROLE,
        },
        ExtendedS3DestinationConfiguration=destination,
    )
    assert code == "InvalidArgumentException" and "no_such_stream" in message
    wait_active(firehose, name)
    code, _, message = error_of(  # Kafka refuses __firehose-a_b beside __firehose-a.b
        firehose.create_delivery_stream,
        DeliveryStreamName=name.replace("_", "."),
        ExtendedS3DestinationConfiguration=destination,
    )
    assert code == "InvalidArgumentException" and "collides" in message
    assert not (fh_settings.state_dir / "sinks" / name.replace("_", ".")).exists()

    code, status, message = error_of(
        firehose.put_record, DeliveryStreamName=name, Record={"Data": b"x" * 1_024_001}
    )
    assert (code, status) == ("ValidationException", 400)
    assert "at 'record.data' failed to satisfy constraint" in message
    code, _, message = error_of(
        firehose.put_record_batch,
        DeliveryStreamName=name,
        Records=[{"Data": b"{}"}, {"Data": b"x" * 1_024_001}],
    )
    assert code == "ValidationException" and "'records.2.member.data'" in message
    code, _, message = error_of(
        firehose.put_record_batch,
        DeliveryStreamName=name,
        Records=[{"Data": b"x" * 1_000_000}] * 5,
    )
    assert code == "InvalidArgumentException" and "exceeds 4 MB" in message
    code, _, _ = error_of(
        firehose.put_record_batch, DeliveryStreamName=name, Records=[{"Data": b"{}"}] * 501
    )
    assert code == "ValidationException"

    # nothing refused was written; what was acknowledged is all that lands
    ok = firehose.put_record(DeliveryStreamName=name, Record={"Data": b'{"ok": 1}'})
    batch = firehose.put_record_batch(
        DeliveryStreamName=name, Records=[{"Data": b'{"ok": 2}'}, {"Data": b'{"ok": 3}'}]
    )
    assert batch["FailedPutCount"] == 0 and ok["RecordId"]
    folder = fh_settings.bucket_path / "errors-bucket" / name
    wait_for(lambda: len(landed_lines(folder)) == 3, 60, "3 records")
    assert landed_lines(folder) == [{"ok": 1}, {"ok": 2}, {"ok": 3}]

    every = firehose.list_delivery_streams(Limit=10_000)["DeliveryStreamNames"]
    assert every == sorted(every) and name in every
    first = firehose.list_delivery_streams(Limit=1)
    assert first["DeliveryStreamNames"] == every[:1]
    assert first["HasMoreDeliveryStreams"] is (len(every) > 1)
    rest = firehose.list_delivery_streams(ExclusiveStartDeliveryStreamName=every[0], Limit=10_000)
    assert rest["DeliveryStreamNames"] == every[1:] and rest["HasMoreDeliveryStreams"] is False

    firehose.tag_delivery_stream(DeliveryStreamName=name, Tags=[{"Key": "a", "Value": "1"}])
    firehose.tag_delivery_stream(DeliveryStreamName=name, Tags=[{"Key": "b", "Value": "2"}])
    firehose.untag_delivery_stream(DeliveryStreamName=name, TagKeys=["a"])
    assert firehose.list_tags_for_delivery_stream(DeliveryStreamName=name)["Tags"] == [
        {"Key": "b", "Value": "2"}
    ]
    code, _, _ = error_of(
        firehose.tag_delivery_stream,
        DeliveryStreamName=name,
        Tags=[{"Key": f"k{i}", "Value": ""} for i in range(50)],
    )
    assert code == "LimitExceededException"
    firehose.delete_delivery_stream(DeliveryStreamName=name)


@pytest.mark.parametrize(
    ("target", "body", "expected"),
    [
        ("Firehose_20150804.FlyToTheMoon", b"{}", "UnknownOperationException"),
        ("Firehose_20150804.ListDeliveryStreams", b"{not json", "SerializationException"),
        ("Firehose_20150804.CreateDeliveryStream", b"{}", "ValidationException"),
        (
            "Firehose_20150804.CreateDeliveryStream",
            b'{"DeliveryStreamName": "a b", "ExtendedS3DestinationConfiguration": {}}',
            "ValidationException",
        ),
        (
            "Firehose_20150804.CreateDeliveryStream",
            b'{"DeliveryStreamName": "x", "DeliveryStreamType": "Carrier"}',
            "ValidationException",
        ),
        (
            "Firehose_20150804.PutRecord",
            b'{"DeliveryStreamName": "x", "Record": 7}',
            "SerializationException",
        ),
        (
            "Firehose_20150804.PutRecord",
            b'{"DeliveryStreamName": "x", "Record": {"Data": "not base64!"}}',
            "SerializationException",
        ),
        (
            "Firehose_20150804.PutRecordBatch",
            b'{"DeliveryStreamName": "x", "Records": {}}',
            "SerializationException",
        ),
        (
            "Firehose_20150804.DescribeDeliveryStream",
            b'{"DeliveryStreamName": 7}',
            "SerializationException",
        ),
    ],
)
def test_malformed_firehose_calls(
    fh_endpoint: ServerThread, target: str, body: bytes, expected: str
) -> None:
    from tests.tidebox.api.test_protocol import post

    status, answer = post(fh_endpoint.url, target, body)
    assert (status, answer["__type"]) == (400, expected), answer
    assert answer["message"]


# -- restarts -------------------------------------------------------------------------------------
def test_a_delivery_stream_resumes_when_the_endpoint_restarts_with_nothing_lost_or_doubled(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    from tidebox.delivery.status import sink_status

    settings = firehose_settings(kafka_settings, tmp_path)
    name = unique("fh_restart")
    folder = settings.bucket_path / "restart-bucket" / name
    spec: SinkSpec | None = None

    def put(running: ServerThread, first: int, count: int) -> None:
        records = [{"Data": json.dumps({"id": i}).encode()} for i in range(first, first + count)]
        answer = client("firehose", running.url).put_record_batch(
            DeliveryStreamName=name, Records=records
        )
        assert answer["FailedPutCount"] == 0

    first = start_in_thread(settings)
    try:
        firehose = client("firehose", first.url)
        firehose.create_delivery_stream(  # Firehose's longest interval: only a stop delivers
            DeliveryStreamName=name,
            ExtendedS3DestinationConfiguration=json_destination(
                "restart-bucket", f"{name}/", interval=900
            ),
        )
        created = wait_active(firehose, name)["CreateTimestamp"]
        spec = SinkSpec(
            **next(s for s in read_created_sinks(settings.state_dir) if s["name"] == name)
        )
        put(first, 0, 50)
        wait_for(lambda: sink_status(settings, spec).buffered_records == 50, 30, "50 buffered")
        assert landed_lines(folder) == []
    finally:
        first.stop()
    assert sorted(d["id"] for d in landed_lines(folder)) == list(range(50))  # delivered on stop

    second = start_in_thread(settings.model_copy(update={"api_port": free_port()}))
    try:
        firehose = client("firehose", second.url)
        resumed = describe(firehose, name)
        assert resumed["DeliveryStreamStatus"] == "ACTIVE"
        assert resumed["CreateTimestamp"] == created
        put(second, 50, 30)
        put(second, 80, 20)  # acknowledged just before the stop: buffered or still in Kafka
    finally:
        second.stop()

    third = start_in_thread(settings.model_copy(update={"api_port": free_port()}))
    try:

        def consumed() -> bool:  # all that is not delivered yet is in the buffer
            status = sink_status(settings, spec)
            return status.running and status.lag == status.buffered_records

        wait_for(consumed, 30, "the rest consumed")
    finally:
        third.stop()
    ids = sorted(d["id"] for d in landed_lines(folder))
    assert ids == list(range(100))  # each record once


def test_a_delete_first_delivers_every_record_acknowledged(
    firehose: Any, fh_settings: Settings
) -> None:
    name = unique("fh_delete")
    firehose.create_delivery_stream(
        DeliveryStreamName=name,
        ExtendedS3DestinationConfiguration=json_destination("del-bucket", f"{name}/", 900),
    )
    wait_active(firehose, name)
    for start in range(0, 1000, 250):
        records = [{"Data": json.dumps({"id": i}).encode()} for i in range(start, start + 250)]
        firehose.put_record_batch(DeliveryStreamName=name, Records=records)
    firehose.delete_delivery_stream(DeliveryStreamName=name)  # buffered or not yet read
    ids = sorted(d["id"] for d in landed_lines(fh_settings.bucket_path / "del-bucket" / name))
    assert ids == list(range(1000))


def test_the_readme_block_runs_as_written(
    fh_endpoint: ServerThread, fh_settings: Settings, tmp_path: Path
) -> None:
    import re

    from tests.support import REPO, cli_env

    readme = (REPO / "README.md").read_text().split("**The Firehose API.**", 1)[1]
    block = re.findall(r"```bash\n(.*?)```", readme, re.S)[0]
    script = block.replace("http://127.0.0.1:4566", fh_endpoint.url)
    env = cli_env(
        fh_settings,
        PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        AWS_CONFIG_FILE=str(tmp_path / "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"),
    )
    done = subprocess.run(
        ["bash", "-e", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "records in" in done.stdout and "running (pid" in done.stdout  # tidebox sink status
    assert landed_lines(fh_settings.bucket_path / "web" / "clicks") == [{"page": "/home"}]


def test_the_endpoint_process_delivers_the_buffers_when_tidebox_down_stops_it(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    from tidebox.delivery.status import sink_status
    from tidebox.runtime.api_process import start_api, stop_api

    settings = firehose_settings(kafka_settings, tmp_path)
    name = unique("fh_process")
    status = start_api(settings)  # python -m tidebox.api, as 'tidebox up' starts it
    try:
        assert status.running and status.pid is not None
        firehose = client("firehose", status.url)
        firehose.create_delivery_stream(
            DeliveryStreamName=name,
            ExtendedS3DestinationConfiguration=json_destination("proc", f"{name}/", 900),
        )
        wait_active(firehose, name)
        records = [{"Data": json.dumps({"id": i}).encode()} for i in range(40)]
        answer = firehose.put_record_batch(DeliveryStreamName=name, Records=records)
        assert answer["FailedPutCount"] == 0
        created = read_created_sinks(settings.state_dir)
        spec = SinkSpec(**next(s for s in created if s["name"] == name))
        wait_for(
            lambda: sink_status(settings, spec).buffered_records == 40, 30, "40 buffered records"
        )
        assert sink_status(settings, spec).pid == status.pid  # run by the endpoint process
        assert landed_lines(settings.bucket_path / "proc" / name) == []
    finally:
        assert stop_api(settings)  # SIGTERM, as 'tidebox down' sends
    ids = sorted(d["id"] for d in landed_lines(settings.bucket_path / "proc" / name))
    assert ids == list(range(40))
