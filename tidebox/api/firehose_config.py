"""A Firehose S3 destination (ExtendedS3DestinationConfiguration, or the older
S3DestinationConfiguration) read into a tidebox delivery stream's
:class:`~tidebox.core.settings.SinkSpec`, with the description DescribeDeliveryStream echoes.

What maps to what:

* ``BucketARN`` ``arn:aws:s3:::B``: with an S3 endpoint configured (``s3_endpoint``), bucket B
  on it; without, the folder ``B`` in tidebox's local bucket (``<bucket>/B/``), as a path-style
  S3 URL puts the bucket first.
* ``Prefix``, ``ErrorOutputPrefix``, ``BufferingHints`` and ``CompressionFormat`` (UNCOMPRESSED
  or GZIP) are the spec's own fields.
* ``DataFormatConversionConfiguration``: the schema is the catalog table ``TableName``
  (a declared stream or table with columns, else a table of the catalog, whose columns are
  taken as they are at creation); OpenX JSON in, Parquet out with the ParquetSerDe's
  ``Compression``.
* ``DynamicPartitioningConfiguration`` with the MetadataExtraction and Lambda processors
  (:mod:`tidebox.api.firehose_processing`).

Firehose's rules are kept: conversion and dynamic partitioning need a buffer of 64-128 MiB
(128 by default), conversion needs CompressionFormat UNCOMPRESSED, dynamic partitioning needs
an ErrorOutputPrefix and a prefix that uses the keys. Everything tidebox cannot honour is
refused with InvalidArgumentException naming it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tidebox.api.errors import invalid_argument
from tidebox.api.firehose_processing import Processing, read_processing
from tidebox.api.protocol import Request
from tidebox.core.errors import TideboxError
from tidebox.core.settings import Settings, SinkSpec

ROLE_ARN = r"arn:.*:iam::\d{12}:role/[a-zA-Z_0-9+=,.@\-_/]+"
BUCKET_ARN = r"arn:.*:s3:::[\w\.\-]{1,255}"
COMPRESSION_FORMATS = ("UNCOMPRESSED", "GZIP", "ZIP", "Snappy", "HADOOP_SNAPPY")
PARQUET_COMPRESSIONS = ("UNCOMPRESSED", "GZIP", "SNAPPY")
DESTINATIONS = (
    "S3DestinationConfiguration",
    "ExtendedS3DestinationConfiguration",
    "RedshiftDestinationConfiguration",
    "ElasticsearchDestinationConfiguration",
    "AmazonopensearchserviceDestinationConfiguration",
    "SplunkDestinationConfiguration",
    "HttpEndpointDestinationConfiguration",
    "AmazonOpenSearchServerlessDestinationConfiguration",
    "SnowflakeDestinationConfiguration",
    "IcebergDestinationConfiguration",
)
S3_DESCRIBED = (  # the members S3DestinationDescription shares with the extended one
    "RoleARN",
    "BucketARN",
    "Prefix",
    "ErrorOutputPrefix",
    "BufferingHints",
    "CompressionFormat",
    "EncryptionConfiguration",
    "CloudWatchLoggingOptions",
)
MIN_MBS_CONVERTED = 64  # Firehose's minimum buffer with conversion or dynamic partitioning


@dataclass(frozen=True)
class Destination:
    """A delivery stream's destination: its spec (fields other than name and stream) and the
    ExtendedS3DestinationDescription that DescribeDeliveryStream gives back."""

    fields: dict[str, Any]
    description: dict[str, Any]


def read_destination(settings: Settings, call: Request) -> Destination:
    """The one S3 destination of a CreateDeliveryStream call."""
    given = [member for member in DESTINATIONS if call.has(member)]
    if len(given) != 1:
        raise invalid_argument(
            "Exactly one destination configuration must be given; tidebox delivers to S3 "
            "(ExtendedS3DestinationConfiguration)."
        )
    if given[0] not in ("ExtendedS3DestinationConfiguration", "S3DestinationConfiguration"):
        raise invalid_argument(f"tidebox does not support {given[0]}: it delivers to S3 only.")
    config = call.section(given[0])
    return _read(settings, config)


def _read(settings: Settings, config: Request) -> Destination:
    config.required_string("RoleARN", min_length=1, max_length=512, pattern=ROLE_ARN)
    bucket_arn = config.required_string(
        "BucketARN", min_length=1, max_length=2048, pattern=BUCKET_ARN
    )
    prefix = config.string("Prefix", max_length=1024)
    error_prefix = config.string("ErrorOutputPrefix", max_length=1024)
    compression = config.enum("CompressionFormat", COMPRESSION_FORMATS) or "UNCOMPRESSED"
    _refuse_unsupported(config)

    processing = read_processing(settings, config.section("ProcessingConfiguration"))
    partitioning = config.section("DynamicPartitioningConfiguration")
    partitioning.section("RetryOptions").integer("DurationInSeconds", minimum=0, maximum=7200)
    dynamic = bool(partitioning.boolean("Enabled", default=False))
    conversion = _conversion(settings, config.section("DataFormatConversionConfiguration"))

    hints = config.section("BufferingHints")
    size = hints.integer("SizeInMBs", minimum=1, maximum=128)
    interval = hints.integer("IntervalInSeconds", minimum=0, maximum=900, default=300)
    large = conversion is not None or dynamic
    if large and size is not None and size < MIN_MBS_CONVERTED:
        why = "data format conversion" if conversion is not None else "dynamic partitioning"
        raise invalid_argument(
            f"BufferingHints.SizeInMBs must be at least {MIN_MBS_CONVERTED} when {why} is "
            f"enabled, got {size}."
        )
    size = size if size is not None else (128 if large else 5)

    fields: dict[str, Any] = {
        "destination": bucket_destination(settings, bucket_arn.rpartition(":")[2]),
        "prefix": prefix or None,
        "error_output_prefix": error_prefix or None,
        "buffering_hints": {"size_in_mbs": size, "interval_in_seconds": interval},
    }
    if conversion is not None:
        if compression != "UNCOMPRESSED":
            raise invalid_argument(
                "CompressionFormat must be UNCOMPRESSED when data format conversion is enabled: "
                "the serializer's Compression compresses the Parquet files."
            )
        fields.update(conversion)
    else:
        if compression not in ("UNCOMPRESSED", "GZIP"):
            raise invalid_argument(
                f"tidebox does not support CompressionFormat {compression} (UNCOMPRESSED or GZIP)."
            )
        fields.update(output_format="json", compression=compression)
    fields.update(_partitioning(processing, dynamic, prefix or "", error_prefix or ""))
    description = _description(config.body, size, interval or 0, compression)
    return Destination(fields, description)


def _refuse_unsupported(config: Request) -> None:
    encryption = config.section("EncryptionConfiguration")
    encryption.enum("NoEncryptionConfig", ("NoEncryption",))
    if encryption.has("KMSEncryptionConfig"):
        raise invalid_argument(
            "tidebox does not support EncryptionConfiguration.KMSEncryptionConfig."
        )
    if config.enum("S3BackupMode", ("Disabled", "Enabled")) == "Enabled":
        raise invalid_argument("tidebox does not support S3BackupMode Enabled.")
    if config.has("S3BackupConfiguration"):
        raise invalid_argument("tidebox does not support S3BackupConfiguration.")
    extension = config.string("FileExtension", max_length=128)
    if extension:
        raise invalid_argument(
            f"tidebox does not support FileExtension ({extension!r}): its objects end in "
            ".parquet, .gz or nothing, as Firehose's do by default."
        )
    zone = config.string("CustomTimeZone", max_length=50)
    if zone not in (None, "", "UTC"):
        raise invalid_argument(
            f"tidebox does not support CustomTimeZone {zone}: prefixes are in UTC."
        )
    logging = config.section("CloudWatchLoggingOptions")
    logging.boolean("Enabled")
    logging.string("LogGroupName", max_length=512)
    logging.string("LogStreamName", max_length=512)


def bucket_destination(settings: Settings, bucket: str) -> str:
    """Where bucket ``bucket`` is: that bucket on the S3 endpoint, or its folder in the local
    bucket."""
    if settings.s3_endpoint:
        return f"s3://{bucket}"
    return str(Path(settings.bucket_path, bucket).resolve())


def _conversion(settings: Settings, config: Request) -> dict[str, Any] | None:
    """The spec's fields for DataFormatConversionConfiguration, or None when it is off."""
    if not config.body or not config.boolean("Enabled", default=True):
        return None
    schema = config.section("SchemaConfiguration")
    database = schema.string("DatabaseName", min_length=1, max_length=1024, pattern=r"\S+")
    table = schema.string("TableName", min_length=1, max_length=1024, pattern=r"\S+")
    if database is None or table is None:
        raise invalid_argument(
            "SchemaConfiguration needs DatabaseName and TableName when data format conversion "
            "is enabled."
        )
    version = schema.string("VersionId", min_length=1, max_length=1024)
    if version not in (None, "LATEST"):
        raise invalid_argument(
            f"tidebox does not support SchemaConfiguration.VersionId {version}: its catalog "
            "keeps no table versions (LATEST)."
        )
    serde = config.section("InputFormatConfiguration").section("Deserializer")
    if serde.has("HiveJsonSerDe"):
        raise invalid_argument("tidebox does not support HiveJsonSerDe (OpenXJsonSerDe only).")
    if not serde.has("OpenXJsonSerDe"):
        raise invalid_argument(
            "InputFormatConfiguration.Deserializer.OpenXJsonSerDe is required when data format "
            "conversion is enabled."
        )
    openx = serde.section("OpenXJsonSerDe")
    if openx.boolean("ConvertDotsInJsonKeysToUnderscores", default=False):
        raise invalid_argument(
            "tidebox does not support OpenXJsonSerDe.ConvertDotsInJsonKeysToUnderscores."
        )
    if openx.mapping("ColumnToJsonKeyMappings"):
        raise invalid_argument("tidebox does not support OpenXJsonSerDe.ColumnToJsonKeyMappings.")
    serializer = config.section("OutputFormatConfiguration").section("Serializer")
    if serializer.has("OrcSerDe"):
        raise invalid_argument("tidebox does not support OrcSerDe (ParquetSerDe only).")
    if not serializer.has("ParquetSerDe"):
        raise invalid_argument(
            "OutputFormatConfiguration.Serializer.ParquetSerDe is required when data format "
            "conversion is enabled."
        )
    parquet = serializer.section("ParquetSerDe")
    other = sorted(k for k in parquet.body if k != "Compression")
    if other:
        raise invalid_argument(
            f"tidebox does not support ParquetSerDe.{other[0]} (only Compression)."
        )
    return {
        **schema_fields(settings, database, table),
        "output_format": "parquet",
        "compression": parquet.enum("Compression", PARQUET_COMPRESSIONS) or "SNAPPY",
        "case_insensitive": bool(openx.boolean("CaseInsensitive", default=True)),
    }


def schema_fields(settings: Settings, database: str, table: str) -> dict[str, Any]:
    """The spec's schema for catalog table ``table``: a declared stream or table with columns
    is named (``schema_table``); a table of the catalog gives its columns. tidebox has one
    catalog, so ``database`` names no more than Glue's default would."""
    from tidebox.lake.catalog import reading_catalog

    stream = settings.stream(table)
    declared = next((t for t in settings.tables if t.name == table), None)
    if (stream is not None and stream.columns) or (declared is not None and declared.columns):
        return {"schema_table": table}
    try:
        with reading_catalog(settings) as catalog:
            found = catalog.find(table)
    except TideboxError as exc:
        raise invalid_argument(f"cannot read the catalog: {exc}") from exc
    if found is None or not found.columns:
        raise invalid_argument(
            f"Table {table} in database {database} was not found in tidebox's catalog, or has "
            "no columns (see 'tidebox catalog list')."
        )
    return {"columns": dict(found.columns)}


def _partitioning(
    processing: Processing, dynamic: bool, prefix: str, error_prefix: str
) -> dict[str, Any]:
    """The spec's dynamic partitioning and transform, under Firehose's rules."""
    from_query = "!{partitionKeyFromQuery:" in prefix
    from_lambda = "!{partitionKeyFromLambda:" in prefix
    if not dynamic:
        if processing.extraction:
            raise invalid_argument(
                "The MetadataExtraction processor needs DynamicPartitioningConfiguration enabled."
            )
        if from_query or from_lambda:
            raise invalid_argument(
                "The Prefix uses partitionKeyFromQuery or partitionKeyFromLambda, which need "
                "DynamicPartitioningConfiguration enabled."
            )
    else:
        if not error_prefix:
            raise invalid_argument(
                "ErrorOutputPrefix is required when dynamic partitioning is enabled."
            )
        if not (from_query or from_lambda):
            raise invalid_argument(
                "The Prefix must use partitionKeyFromQuery or partitionKeyFromLambda when "
                "dynamic partitioning is enabled."
            )
        if from_lambda and processing.transform is None:
            raise invalid_argument(
                "The Prefix uses partitionKeyFromLambda, which needs a Lambda processor."
            )
        if not from_query and processing.extraction:
            raise invalid_argument(
                "The MetadataExtraction keys must be used in the Prefix (partitionKeyFromQuery)."
            )
    fields: dict[str, Any] = {}
    if dynamic:
        fields["dynamic_partitioning"] = {"partition_keys": processing.query_keys}
    if processing.transform is not None:
        fields["processor"] = {
            "function": processing.transform,
            "number_of_retries": processing.retries,
            "buffer_size_in_mbs": processing.buffer_mbs,
        }
    return fields


def _description(
    given: dict[str, Any], size: int, interval: int, compression: str
) -> dict[str, Any]:
    """ExtendedS3DestinationDescription: the configuration as given, with AWS's defaults."""
    described = copy.deepcopy(given)
    described.update(
        BufferingHints={"SizeInMBs": size, "IntervalInSeconds": interval},
        CompressionFormat=compression,
    )
    described.setdefault("EncryptionConfiguration", {"NoEncryptionConfig": "NoEncryption"})
    described.setdefault("CloudWatchLoggingOptions", {"Enabled": False})
    described.setdefault("S3BackupMode", "Disabled")
    return described


def s3_description(extended: dict[str, Any]) -> dict[str, Any]:
    """S3DestinationDescription, which AWS gives beside the extended one."""
    return {k: copy.deepcopy(v) for k, v in extended.items() if k in S3_DESCRIBED}


def make_spec(name: str, stream: str, destination: Destination) -> SinkSpec:
    """The delivery stream's spec; InvalidArgumentException if tidebox refuses it."""
    try:
        return SinkSpec(name=name, stream=stream, **destination.fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise invalid_argument(f"{where}: {first['msg']}") from exc
