"""Firehose's data plane: PutRecord and PutRecordBatch into a DirectPut delivery stream's own
Kafka stream, through the shared writer.

Firehose records have no key: they go to the stream's shards round-robin (it has one). A
RecordId is 37 digits that say where the record landed: the delivery stream's creation time in
milliseconds (13), the shard (4) and the record's offset in its Kafka stream (20).
"""

from __future__ import annotations

from typing import Any

from tidebox.api.context import ApiContext, acknowledged, as_api_error
from tidebox.api.errors import ApiError, invalid_argument, serialization
from tidebox.api.firehose_runs import DeliveryRun, delivery_stream_name, find_run
from tidebox.api.firehose_state import DIRECT_PUT, DeliveryStreamRecord
from tidebox.api.protocol import Request, constraint, decode_blob
from tidebox.core.errors import TideboxError
from tidebox.streams.writer import Written

MAX_RECORD_BYTES = 1_024_000  # 1,000 KiB of data per record
MAX_BATCH_RECORDS = 500
MAX_BATCH_BYTES = 4 * 1024 * 1024


def record_id(record: DeliveryStreamRecord, written: Written) -> str:
    return f"{round(record.created * 1000):013d}{written.shard:04d}{written.sequence:020d}"


def _direct(run: DeliveryRun) -> None:
    if run.record.kind != DIRECT_PUT:
        raise invalid_argument(
            f"This operation is not permitted on {run.record.kind} delivery stream type."
        )


def _data(raw: Any, where: str) -> bytes:
    if not isinstance(raw, dict):
        raise serialization(f"{where} must be a structure")
    if raw.get("Data") is None:
        raise constraint("null", f"{where}.data", "not be null")
    return decode_blob(raw["Data"], f"{where}.data")


def _too_large(entries: list[tuple[str, bytes]]) -> ApiError | None:
    """AWS's ValidationException for every record over 1,000 KiB, or None."""
    over = [
        f"Value '{len(data)} bytes' at '{where}.data' failed to satisfy constraint: Member must "
        f"have length less than or equal to {MAX_RECORD_BYTES}"
        for where, data in entries
        if len(data) > MAX_RECORD_BYTES
    ]
    if not over:
        return None
    count = f"{len(over)} validation error{'s' if len(over) > 1 else ''} detected: "
    return ApiError("ValidationException", count + "; ".join(over))


def put_record(context: ApiContext, request: Request) -> dict[str, Any]:
    delivery_stream_name(request)
    if not request.has("Record"):
        raise constraint("null", "record", "not be null")
    data = _data(request.body["Record"], "record")
    error = _too_large([("record", data)])
    if error is not None:
        raise error
    _, run = find_run(context, request)  # as AWS, the call's shape is checked first
    _direct(run)
    with run.writing():
        written = acknowledged(context.writer.send(run.record.stream, run.next_shard(), None, data))
    return {"RecordId": record_id(run.record, written), "Encrypted": False}


def put_record_batch(context: ApiContext, request: Request) -> dict[str, Any]:
    delivery_stream_name(request)
    raw = request.items("Records")
    if not 1 <= len(raw) <= MAX_BATCH_RECORDS:
        raise constraint(
            f"{len(raw)} records", "records", f"have length between 1 and {MAX_BATCH_RECORDS}"
        )
    entries = [
        (f"records.{i + 1}.member", _data(item, f"records.{i + 1}.member"))
        for i, item in enumerate(raw)
    ]
    error = _too_large(entries)
    if error is not None:
        raise error
    total = sum(len(data) for _, data in entries)
    if total > MAX_BATCH_BYTES:
        raise invalid_argument(f"Records size exceeds 4 MB limit ({total} bytes).")
    _, run = find_run(context, request)
    _direct(run)
    stream = run.record.stream
    responses: list[dict[str, str]] = []
    failed = 0
    with run.writing():
        pending = [context.writer.send(stream, run.next_shard(), None, d) for _, d in entries]
        for future in pending:
            try:
                responses.append({"RecordId": record_id(run.record, future.result())})
            except TideboxError as exc:
                failed += 1
                api = as_api_error(exc)
                unreachable = api.kind == "ServiceUnavailableException"
                code = api.kind if unreachable else "InternalFailure"
                responses.append({"ErrorCode": code, "ErrorMessage": api.message})
    return {"FailedPutCount": failed, "Encrypted": False, "RequestResponses": responses}
