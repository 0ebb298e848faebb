"""Kinesis' control plane over Kafka topics: create, delete, describe and list streams, their
shards, retention and tags."""

from __future__ import annotations

import time
from typing import Any

from tidebox.api.context import ApiContext, as_api_error, stream_arn
from tidebox.api.errors import in_use, invalid_argument, not_found
from tidebox.api.protocol import Request
from tidebox.core.errors import StreamExistsError, StreamNotFoundError, TideboxError
from tidebox.streams import admin
from tidebox.streams.metadata import (
    MODES,
    StreamMetadata,
    read_metadata,
    update_metadata,
    with_tags,
)
from tidebox.streams.shards import hash_key_ranges, shard_id

NAME_PATTERN = r"[a-zA-Z0-9_.-]+"
ARN_PATTERN = r"arn:aws.*:kinesis:.*:\d{12}:stream/\S+"
ON_DEMAND_SHARDS = 4  # what a new on-demand Kinesis stream starts with
MIN_RETENTION_H, MAX_RETENTION_H = 24, 8760


def stream_name(context: ApiContext, request: Request) -> str:
    """The stream a call names, by StreamName or by StreamARN."""
    name = request.string("StreamName", min_length=1, max_length=128, pattern=NAME_PATTERN)
    arn = request.string("StreamARN", min_length=1, max_length=2048, pattern=ARN_PATTERN)
    if name is None and arn is None:
        raise invalid_argument("Either StreamName or StreamARN should be provided.")
    if name is not None and arn is not None and arn.rpartition("/")[2] != name:
        raise invalid_argument("StreamName and StreamARN name different streams.")
    return name if name is not None else (arn or "").rpartition("/")[2]


def shard_count(context: ApiContext, name: str) -> int:
    try:
        return context.writer.shards(name)
    except TideboxError as exc:
        raise as_api_error(exc) from exc


def _retention_hours(context: ApiContext, name: str) -> int:
    try:
        info = admin.stream_retention_hours(context.settings, name)
    except TideboxError as exc:
        raise as_api_error(exc) from exc
    return max(1, round(info))


def _mode(meta: StreamMetadata) -> dict[str, str]:
    return {"StreamMode": meta.mode}


def create_stream(context: ApiContext, request: Request) -> dict[str, Any]:
    name = request.required_string("StreamName", min_length=1, max_length=128, pattern=NAME_PATTERN)
    shards = request.integer("ShardCount", minimum=1, maximum=10_000)
    mode = str(request.mapping("StreamModeDetails").get("StreamMode") or "")
    if mode and mode not in MODES:
        raise invalid_argument(f"StreamMode must be one of {', '.join(MODES)}, got {mode}")
    if shards is None:
        mode, shards = mode or "ON_DEMAND", ON_DEMAND_SHARDS
        if mode == "PROVISIONED":
            raise invalid_argument("ShardCount is required for a PROVISIONED stream.")
    elif mode == "ON_DEMAND":
        raise invalid_argument("ShardCount must not be given for an ON_DEMAND stream.")
    tags = {str(k): str(v) for k, v in request.mapping("Tags").items()}
    try:
        admin.create_stream(context.settings, name, shards, 24.0, mode or "PROVISIONED", tags)
    except StreamExistsError as exc:
        raise in_use(f"Stream {name} under account 000000000000 already exists.") from exc
    except TideboxError as exc:
        if "marked for deletion" in str(exc):
            raise in_use(f"Stream {name} is being deleted.") from exc
        raise as_api_error(exc) from exc
    _wait_visible(context, name)
    return {}


def _wait_visible(context: ApiContext, name: str, timeout_s: float = 15.0) -> None:
    """Wait until the endpoint's own client sees a stream just created (the broker's metadata
    follows its controller a moment later), so the next call never misses it."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            context.writer.shards(name)
            return
        except StreamNotFoundError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def delete_stream(context: ApiContext, request: Request) -> dict[str, Any]:
    name = stream_name(context, request)
    try:
        admin.delete_stream(context.settings, name)
    except TideboxError as exc:
        raise as_api_error(exc) from exc
    context.limits.forget(name)
    return {}


def _shards(context: ApiContext, name: str, count: int) -> list[dict[str, Any]]:
    shards = []
    for index, span in enumerate(hash_key_ranges(count)):
        try:
            low, _ = context.reader.bounds(name, index)
        except TideboxError as exc:
            raise as_api_error(exc) from exc
        shards.append(
            {
                "ShardId": shard_id(index),
                "HashKeyRange": {
                    "StartingHashKey": str(span.start),
                    "EndingHashKey": str(span.end),
                },
                "SequenceNumberRange": {"StartingSequenceNumber": str(low)},
            }
        )
    return shards


def _summary(context: ApiContext, request: Request, name: str) -> dict[str, Any]:
    count = shard_count(context, name)
    meta = read_metadata(context.settings, name)
    return {
        "StreamName": name,
        "StreamARN": stream_arn(request.region, name),
        "StreamStatus": "ACTIVE",
        "StreamModeDetails": _mode(meta),
        "RetentionPeriodHours": _retention_hours(context, name),
        "StreamCreationTimestamp": meta.created,
        "EnhancedMonitoring": [{"ShardLevelMetrics": []}],
        "EncryptionType": "NONE",
        "OpenShardCount": count,
        "ConsumerCount": 0,
    }


def describe_stream(context: ApiContext, request: Request) -> dict[str, Any]:
    name = stream_name(context, request)
    limit = request.integer("Limit", minimum=1, maximum=10_000, default=100) or 100
    after = request.string("ExclusiveStartShardId", min_length=1, max_length=128)
    summary = _summary(context, request, name)
    shards = _shards(context, name, summary.pop("OpenShardCount"))
    summary.pop("ConsumerCount")
    if after is not None:
        shards = [s for s in shards if s["ShardId"] > after]
    return {
        "StreamDescription": {
            **summary,
            "Shards": shards[:limit],
            "HasMoreShards": len(shards) > limit,
        }
    }


def describe_stream_summary(context: ApiContext, request: Request) -> dict[str, Any]:
    return {"StreamDescriptionSummary": _summary(context, request, stream_name(context, request))}


def list_streams(context: ApiContext, request: Request) -> dict[str, Any]:
    limit = request.integer("Limit", minimum=1, maximum=10_000, default=100) or 100
    after = request.string("ExclusiveStartStreamName", min_length=1, max_length=128)
    token = request.string("NextToken", min_length=1, max_length=1048576)
    start = token or after
    try:
        names = [n for n in admin.list_streams(context.settings) if start is None or n > start]
    except TideboxError as exc:
        raise as_api_error(exc) from exc
    page = names[:limit]
    found: dict[str, Any] = {
        "StreamNames": page,
        "HasMoreStreams": len(names) > limit,
        "StreamSummaries": [
            {
                "StreamName": name,
                "StreamARN": stream_arn(request.region, name),
                "StreamStatus": "ACTIVE",
                "StreamModeDetails": _mode(meta),
                "StreamCreationTimestamp": meta.created,
            }
            for name, meta in ((n, read_metadata(context.settings, n)) for n in page)
        ],
    }
    if len(names) > limit:
        found["NextToken"] = page[-1]
    return found


def list_shards(context: ApiContext, request: Request) -> dict[str, Any]:
    token = request.string("NextToken", min_length=1, max_length=1048576)
    named = request.has("StreamName") or request.has("StreamARN")
    if token is not None and named:
        raise invalid_argument("NextToken and StreamName cannot be provided together.")
    limit = request.integer("MaxResults", minimum=1, maximum=10_000, default=1000) or 1000
    if token is not None:
        name, _, after = token.partition("|")
    else:
        name = stream_name(context, request)
        after = request.string("ExclusiveStartShardId", min_length=1, max_length=128) or ""
    shards = _shards(context, name, shard_count(context, name))
    shard_filter = request.mapping("ShardFilter")
    kind = shard_filter.get("Type")
    if kind in ("AFTER_SHARD_ID",) and shard_filter.get("ShardId"):
        after = max(after, str(shard_filter["ShardId"]))
    shards = [s for s in shards if s["ShardId"] > after] if after else shards
    found: dict[str, Any] = {"Shards": shards[:limit]}
    if len(shards) > limit:
        found["NextToken"] = f"{name}|{shards[limit - 1]['ShardId']}"
    return found


def _change_retention(context: ApiContext, request: Request, grow: bool) -> dict[str, Any]:
    name = stream_name(context, request)
    hours = request.integer("RetentionPeriodHours", required=True) or 0
    current = _retention_hours(context, name)
    if hours < MIN_RETENTION_H or hours > MAX_RETENTION_H:
        raise invalid_argument(
            f"Minimum allowed retention period is {MIN_RETENTION_H} hours. Maximum allowed "
            f"retention period is {MAX_RETENTION_H} hours. Requested retention period "
            f"({hours} hours) is out of range."
        )
    if grow and hours < current:
        raise invalid_argument(
            f"Requested retention period ({hours} hours) for stream {name} can not be shorter "
            f"than existing retention period ({current} hours). Use "
            "DecreaseRetentionPeriod API."
        )
    if not grow and hours > current:
        raise invalid_argument(
            f"Requested retention period ({hours} hours) for stream {name} can not be longer "
            f"than existing retention period ({current} hours). Use "
            "IncreaseRetentionPeriod API."
        )
    try:
        admin.set_retention_hours(context.settings, name, float(hours))
    except TideboxError as exc:
        raise as_api_error(exc) from exc
    return {}


def increase_retention(context: ApiContext, request: Request) -> dict[str, Any]:
    return _change_retention(context, request, grow=True)


def decrease_retention(context: ApiContext, request: Request) -> dict[str, Any]:
    return _change_retention(context, request, grow=False)


# -- tags -----------------------------------------------------------------------------------------
MAX_TAGS = 50


def _tag(context: ApiContext, name: str, added: dict[str, str], removed: tuple[str, ...]) -> None:
    shard_count(context, name)  # the stream must exist
    meta = read_metadata(context.settings, name)
    if len(with_tags(meta, added, removed).tags) > MAX_TAGS:
        raise invalid_argument(f"A stream can have at most {MAX_TAGS} tags.")
    update_metadata(context.settings, name, lambda m: with_tags(m, added, removed))


def _tag_list(context: ApiContext, name: str) -> list[dict[str, str]]:
    shard_count(context, name)
    tags = read_metadata(context.settings, name).tags
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def add_tags(context: ApiContext, request: Request) -> dict[str, Any]:
    tags = {str(k): str(v) for k, v in request.mapping("Tags").items()}
    if not tags:
        raise invalid_argument("Tags must not be empty.")
    _tag(context, stream_name(context, request), tags, ())
    return {}


def remove_tags(context: ApiContext, request: Request) -> dict[str, Any]:
    keys = tuple(str(k) for k in request.items("TagKeys"))
    _tag(context, stream_name(context, request), {}, keys)
    return {}


def list_tags_for_stream(context: ApiContext, request: Request) -> dict[str, Any]:
    name = stream_name(context, request)
    after = request.string("ExclusiveStartTagKey") or ""
    limit = request.integer("Limit", minimum=1, maximum=50, default=50) or 50
    tags = [t for t in _tag_list(context, name) if t["Key"] > after]
    return {"Tags": tags[:limit], "HasMoreTags": len(tags) > limit}


def _resource(request: Request) -> str:
    arn = request.required_string("ResourceARN", min_length=1, max_length=2048)
    if ":stream/" not in arn or "/consumer/" in arn:
        raise not_found(f"Resource {arn} not found.")
    return arn.rpartition("/")[2]


def tag_resource(context: ApiContext, request: Request) -> dict[str, Any]:
    tags = {str(k): str(v) for k, v in request.mapping("Tags").items()}
    _tag(context, _resource(request), tags, ())
    return {}


def untag_resource(context: ApiContext, request: Request) -> dict[str, Any]:
    keys = tuple(str(k) for k in request.items("TagKeys"))
    _tag(context, _resource(request), {}, keys)
    return {}


def list_tags_for_resource(context: ApiContext, request: Request) -> dict[str, Any]:
    return {"Tags": _tag_list(context, _resource(request))}
