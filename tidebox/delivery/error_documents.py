"""Firehose's error documents: one JSON line per failed record, with Firehose's fields.

Each error output type has the fields Firehose documents for it, and no others:

- ``format-conversion-failed``: ``attemptsMade, arrivalTimestamp, lastErrorCode,
  lastErrorMessage, attemptEndingTimestamp, rawData, sequenceNumber, subSequenceNumber,
  dataCatalogTable``. The record's Kafka offset is its ``sequenceNumber`` (a decimal string, as
  Kinesis sequence numbers are); ``subSequenceNumber`` is 0 (records are never aggregated). The
  shard is in the error object's name.
- ``processing-failed``: ``attemptsMade, arrivalTimestamp, errorCode, errorMessage,
  attemptEndingTimestamp, rawData, lambdaArn``.
- the dynamic partitioning failures (``dynamic-partitioning-failed``,
  ``activePartitionExceeded``): Firehose documents no schema beyond "the record and information
  about the error", so these carry the fields common to the others: ``attemptsMade,
  arrivalTimestamp, errorCode, errorMessage, attemptEndingTimestamp, rawData``.
"""

from __future__ import annotations

import base64
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import orjson

from tidebox.core.settings import SinkSpec
from tidebox.delivery.arns import ACCOUNT, REGION, arn
from tidebox.delivery.buffers import Buffer
from tidebox.delivery.transform import function_name

FORMAT_CONVERSION_FAILED = "format-conversion-failed"
PROCESSING_FAILED = "processing-failed"
PARTITIONING_FAILED = "dynamic-partitioning-failed"
PARTITIONS_EXCEEDED = "activePartitionExceeded"


@dataclass
class Failure:
    """A record that goes to the error output instead of the destination."""

    index: int  # position in the shard's buffer
    output_type: str
    code: str
    message: str
    raw: bytes
    attempts: int = 1


def by_type(failures: list[Failure]) -> dict[str, list[Failure]]:
    """Failures by error output type, each in buffer order."""
    grouped: dict[str, list[Failure]] = defaultdict(list)
    for failure in sorted(failures, key=lambda f: f.index):
        grouped[failure.output_type].append(failure)
    return dict(grouped)


def lambda_arn(reference: str) -> str:
    """The ARN of the Lambda function a transform reference stands for: the same as its
    context's ``invoked_function_arn`` (:func:`tidebox.delivery.transform.function_name`)."""
    return arn("lambda", f"function:{function_name(reference)}")


def render_error_documents(spec: SinkSpec, buffer: Buffer, failures: list[Failure]) -> bytes:
    """The error object for ``failures`` (all of one output type) of one shard's buffer."""
    now = int(time.time() * 1000)
    lines = [
        orjson.dumps(_document(spec, buffer, failure, now))
        for failure in sorted(failures, key=lambda f: f.index)
    ]
    return b"\n".join(lines) + b"\n"


def _document(spec: SinkSpec, buffer: Buffer, failure: Failure, now: int) -> dict[str, Any]:
    head: dict[str, Any] = {
        "attemptsMade": failure.attempts,
        "arrivalTimestamp": buffer.arrivals[failure.index],
    }
    raw = base64.b64encode(failure.raw).decode("ascii")
    if failure.output_type == FORMAT_CONVERSION_FAILED:
        return {
            **head,
            "lastErrorCode": failure.code,
            "lastErrorMessage": failure.message,
            "attemptEndingTimestamp": now,
            "rawData": raw,
            "sequenceNumber": str(buffer.offsets[failure.index]),
            "subSequenceNumber": 0,
            "dataCatalogTable": {
                "catalogId": ACCOUNT,
                "databaseName": "default",
                "tableName": spec.schema_source,
                "region": REGION,
                "versionId": "LATEST",
                "catalogArn": arn("glue", "catalog"),
            },
        }
    document = {
        **head,
        "errorCode": failure.code,
        "errorMessage": failure.message,
        "attemptEndingTimestamp": now,
        "rawData": raw,
    }
    if failure.output_type == PROCESSING_FAILED and spec.processor is not None:
        document["lambdaArn"] = lambda_arn(spec.processor.function)
    return document
