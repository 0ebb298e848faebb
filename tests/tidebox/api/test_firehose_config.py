"""Firehose's destination configuration read into a tidebox spec, without a broker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tidebox.api.errors import ApiError
from tidebox.api.firehose_config import bucket_destination, make_spec, read_destination
from tidebox.api.firehose_processing import query_keys, transform_reference
from tidebox.api.protocol import Request
from tidebox.core.settings import Settings

ROLE = "arn:aws:iam::000000000000:role/firehose"


@pytest.mark.parametrize(
    ("query", "keys"),
    [
        ("{device: .device_id}", {"device": ".device_id"}),
        (
            '{ "day" : .time[0:10], hour: .time[11:13], year: .ts | strftime("%Y") }',
            {"day": ".time[0:10]", "hour": ".time[11:13]", "year": '.ts | strftime("%Y")'},
        ),
        ("{device_id}", {"device_id": ".device_id"}),
        ('{k: (.a // "x,y"), j: {n: 1}.n}', {"k": '(.a // "x,y")', "j": "{n: 1}.n"}),
    ],
)
def test_a_metadata_query_becomes_one_jq_expression_per_key(
    query: str, keys: dict[str, str]
) -> None:
    assert query_keys(query) == keys


@pytest.mark.parametrize("query", [".device_id", "{(.k): .v}", "{a: .x[}", "{}"])
def test_a_query_that_is_no_plain_jq_object_is_refused(query: str) -> None:
    with pytest.raises(ApiError) as caught:
        query_keys(query)
    assert caught.value.kind == "InvalidArgumentException"


def test_a_bucket_is_the_s3_endpoints_or_a_folder_of_the_local_bucket(tmp_path: Path) -> None:
    local = Settings(bucket=tmp_path / "bucket")
    assert bucket_destination(local, "web") == str((tmp_path / "bucket" / "web").resolve())
    remote = local.model_copy(update={"s3_endpoint": "http://127.0.0.1:9000"})
    assert bucket_destination(remote, "web") == "s3://web"


def test_a_lambda_arn_is_a_function_of_the_projects_sinks(tmp_path: Path) -> None:
    sinks = tmp_path / "sinks"
    sinks.mkdir()
    (sinks / "transforms.py").write_text("def enrich(event, context):\n    return event\n")
    (sinks / "scrub.py").write_text("def lambda_handler(event, context):\n    return event\n")
    settings = Settings(project_dir=tmp_path)
    arn = "arn:aws:lambda:eu-west-1:000000000000:function:"
    assert (
        transform_reference(settings, arn + "enrich") == f"{sinks.resolve()}/transforms.py:enrich"
    )
    assert transform_reference(settings, arn + "scrub:live") == (
        f"{sinks.resolve()}/scrub.py:lambda_handler"
    )
    assert transform_reference(settings, "sinks/scrub.py:lambda_handler") == (
        f"{sinks.resolve()}/scrub.py:lambda_handler"
    )
    with pytest.raises(ApiError, match="Lambda function nope"):
        transform_reference(settings, arn + "nope")


def read(settings: Settings, **config: Any) -> dict[str, Any]:
    base = {"RoleARN": ROLE, "BucketARN": "arn:aws:s3:::lake"}
    call = Request({"ExtendedS3DestinationConfiguration": {**base, **config}})
    destination = read_destination(settings, call)
    make_spec("check", "stream", destination)  # the spec accepts what was read
    return destination.fields


def test_defaults_follow_firehose(tmp_path: Path) -> None:
    settings = Settings(bucket=tmp_path, streams=())
    fields = read(settings)
    assert fields["buffering_hints"] == {"size_in_mbs": 5, "interval_in_seconds": 300}
    assert (fields["output_format"], fields["compression"], fields["prefix"]) == (
        "json",
        "UNCOMPRESSED",
        None,
    )
    converted = read(
        Settings(bucket=tmp_path),
        DataFormatConversionConfiguration={
            "SchemaConfiguration": {"DatabaseName": "db", "TableName": "sensor_readings"},
            "InputFormatConfiguration": {
                "Deserializer": {"OpenXJsonSerDe": {"CaseInsensitive": False}}
            },
            "OutputFormatConfiguration": {"Serializer": {"ParquetSerDe": {}}},
        },
    )
    assert converted["buffering_hints"]["size_in_mbs"] == 128
    assert converted["schema_table"] == "sensor_readings"
    assert (converted["output_format"], converted["compression"]) == ("parquet", "SNAPPY")
    assert converted["case_insensitive"] is False
