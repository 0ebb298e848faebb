"""Kinesis' data plane: PutRecord and PutRecords routed by hash key under the shard limits,
GetShardIterator and GetRecords over the shared shard reader."""

from __future__ import annotations

import time
from concurrent.futures import Future
from typing import Any

from tidebox.api.context import ApiContext, acknowledged, as_api_error
from tidebox.api.errors import invalid_argument, not_found
from tidebox.api.errors import throughput_exceeded as throttled
from tidebox.api.kinesis_streams import shard_count, stream_name
from tidebox.api.protocol import ACCOUNT, Request, decode_blob, encode_blob
from tidebox.api.protocol import constraint as constraint_error
from tidebox.core.errors import TideboxError
from tidebox.streams.reader import MAX_RECORDS, InvalidPositionError, Position
from tidebox.streams.shards import (
    HASH_KEY_MAX,
    hash_key_of,
    parse_shard_id,
    shard_id,
    shard_of_hash,
)
from tidebox.streams.writer import Written

MAX_RECORD_BYTES = 1024 * 1024  # data and partition key of one record
MAX_BATCH_RECORDS = 500
MAX_BATCH_BYTES = 5 * 1024 * 1024
HASH_KEY_PATTERN = r"0|([1-9]\d{0,38})"
ITERATOR_TYPES = {
    "TRIM_HORIZON": "trim-horizon",
    "LATEST": "latest",
    "AT_TIMESTAMP": "at-timestamp",
    "AT_SEQUENCE_NUMBER": "at-sequence",
    "AFTER_SEQUENCE_NUMBER": "after-sequence",
}


def _rate_exceeded(name: str, shard: int) -> str:
    return f"Rate exceeded for shard {shard_id(shard)} in stream {name} under account {ACCOUNT}."


def _entry(request: Request, raw: dict[str, Any], where: str) -> tuple[bytes, bytes, int]:
    """(partition key, data, hash key) of one record to put, its members checked."""
    if not isinstance(raw, dict):
        raise invalid_argument(f"{where} must be a structure")
    key = raw.get("PartitionKey")
    if not isinstance(key, str) or not 1 <= len(key) <= 256:
        raise constraint_error(key, f"{where}partitionKey", "have length between 1 and 256")
    data = decode_blob(raw.get("Data"), f"{where}Data")
    if len(data) + len(key.encode()) > MAX_RECORD_BYTES:
        raise constraint_error(
            f"{len(data)} bytes",
            f"{where}data",
            f"have length less than or equal to {MAX_RECORD_BYTES}",
        )
    explicit = raw.get("ExplicitHashKey")
    if explicit is None:
        hashed = hash_key_of(key)
    else:
        if not isinstance(explicit, str) or not explicit.isdigit() or int(explicit) > HASH_KEY_MAX:
            raise invalid_argument(
                "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. "
                f"Specified value was {explicit}"
            )
        hashed = int(explicit)
    return key.encode(), data, hashed


def put_record(context: ApiContext, request: Request) -> dict[str, Any]:
    name = stream_name(context, request)
    request.string("SequenceNumberForOrdering", pattern=r"0|([1-9]\d{0,128})")
    key, data, hashed = _entry(request, request.body, "")
    shard = shard_of_hash(hashed, shard_count(context, name))
    if not context.limits.take_write(name, shard, len(data) + len(key)):
        raise throttled(_rate_exceeded(name, shard))
    written = acknowledged(context.writer.send(name, shard, key, data))
    return {
        "ShardId": shard_id(written.shard),
        "SequenceNumber": str(written.sequence),
        "EncryptionType": "NONE",
    }


def put_records(context: ApiContext, request: Request) -> dict[str, Any]:
    name = stream_name(context, request)
    raw_records = request.items("Records")
    if not 1 <= len(raw_records) <= MAX_BATCH_RECORDS:
        raise constraint_error(
            f"{len(raw_records)} records",
            "records",
            f"have length between 1 and {MAX_BATCH_RECORDS}",
        )
    entries = [
        _entry(request, raw, f"records.{i + 1}.member.") for i, raw in enumerate(raw_records)
    ]
    total = sum(len(k) + len(d) for k, d, _ in entries)
    if total > MAX_BATCH_BYTES:
        raise invalid_argument(
            f"Records size exceeds 5 MB limit: {total} bytes in one PutRecords request."
        )
    shards = shard_count(context, name)
    pending: list[Future[Written] | int] = []
    for key, data, hashed in entries:
        shard = shard_of_hash(hashed, shards)
        if context.limits.take_write(name, shard, len(data) + len(key)):
            pending.append(context.writer.send(name, shard, key, data))
        else:
            pending.append(shard)
    results: list[dict[str, str]] = []
    failed = 0
    for item in pending:
        if isinstance(item, int):
            failed += 1
            results.append(
                {
                    "ErrorCode": "ProvisionedThroughputExceededException",
                    "ErrorMessage": _rate_exceeded(name, item),
                }
            )
            continue
        try:
            written = item.result()
        except TideboxError as exc:
            failed += 1
            results.append({"ErrorCode": "InternalFailure", "ErrorMessage": str(exc)})
            continue
        results.append(
            {"ShardId": shard_id(written.shard), "SequenceNumber": str(written.sequence)}
        )
    return {"FailedRecordCount": failed, "Records": results, "EncryptionType": "NONE"}


def _shard_of(context: ApiContext, name: str, text: str) -> int:
    shards = shard_count(context, name)
    try:
        shard = parse_shard_id(text)
    except TideboxError:
        shard = -1
    if not 0 <= shard < shards:
        raise not_found(f"Shard {text} in stream {name} under account {ACCOUNT} does not exist")
    return shard


def get_shard_iterator(context: ApiContext, request: Request) -> dict[str, Any]:
    name = stream_name(context, request)
    shard_text = request.required_string("ShardId", min_length=1, max_length=128)
    kind = request.required_string("ShardIteratorType")
    if kind not in ITERATOR_TYPES:
        raise constraint_error(
            kind, "shardIteratorType", f"satisfy enum value set: [{', '.join(ITERATOR_TYPES)}]"
        )
    shard = _shard_of(context, name, shard_text)
    sequence_text = request.string("StartingSequenceNumber", pattern=r"0|([1-9]\d{0,128})")
    stamp = request.timestamp("Timestamp")
    if kind.endswith("SEQUENCE_NUMBER") and sequence_text is None:
        raise invalid_argument(f"StartingSequenceNumber is required for {kind}.")
    if kind == "AT_TIMESTAMP" and stamp is None:
        raise invalid_argument("Timestamp is required for AT_TIMESTAMP.")
    if kind in ("TRIM_HORIZON", "LATEST") and (sequence_text is not None or stamp is not None):
        raise invalid_argument(f"{kind} takes neither StartingSequenceNumber nor Timestamp.")
    position = Position(
        ITERATOR_TYPES[kind],
        sequence=int(sequence_text) if sequence_text is not None else None,
        timestamp_ms=int((stamp or 0) * 1000) if stamp is not None else None,
    )
    try:
        offset = context.reader.start_offset(name, shard, position)
    except InvalidPositionError as exc:
        raise invalid_argument(
            f"StartingSequenceNumber {sequence_text} used in GetShardIterator on shard "
            f"{shard_id(shard)} in stream {name} under account {ACCOUNT} is invalid."
        ) from exc
    except TideboxError as exc:
        raise as_api_error(exc) from exc
    return {"ShardIterator": context.iterators.encode(name, shard, offset)}


def get_records(context: ApiContext, request: Request) -> dict[str, Any]:
    token = request.required_string("ShardIterator", min_length=1, max_length=512)
    limit = request.integer("Limit", minimum=1, maximum=MAX_RECORDS, default=MAX_RECORDS)
    iterator = context.iterators.decode(token)
    name, shard = iterator.stream, iterator.shard
    if not context.limits.take_read_call(name, shard):
        raise throttled(_rate_exceeded(name, shard))
    try:
        batch = context.reader.read(name, shard, iterator.sequence, limit or MAX_RECORDS)
    except TideboxError as exc:
        raise as_api_error(exc) from exc
    size = sum(len(r.data) + len(r.key or b"") for r in batch.records)
    context.limits.took_read(name, shard, len(batch.records), size)
    behind = 0
    if not batch.at_end and batch.records:
        behind = max(0, int(time.time() * 1000) - batch.records[-1].arrival_ms)
    return {
        "Records": [
            {
                "SequenceNumber": str(r.sequence),
                "ApproximateArrivalTimestamp": r.arrival_ms / 1000.0,
                "Data": encode_blob(r.data),
                "PartitionKey": (r.key or b"").decode("utf-8", "replace"),
            }
            for r in batch.records
        ],
        "NextShardIterator": context.iterators.encode(name, shard, batch.next_sequence),
        "MillisBehindLatest": behind,
    }
