"""Firehose's tags on a delivery stream: TagDeliveryStream, UntagDeliveryStream and
ListTagsForDeliveryStream, kept with the API's record of it (at most 50, as AWS)."""

from __future__ import annotations

from typing import Any

from tidebox.api.context import ApiContext
from tidebox.api.errors import ApiError, serialization
from tidebox.api.firehose_runs import find_run
from tidebox.api.firehose_state import save_record
from tidebox.api.protocol import Request, constraint

MAX_TAGS = 50
TAG_KEY_PATTERN = r"(?!aws:)[\w\s.:/=+\-@%]*"
TAG_VALUE_PATTERN = r"[\w\s.:/=+\-@%]*"


def read_tags(request: Request, member: str) -> dict[str, str]:
    """The tags list ``member`` of a call ([{Key, Value}]) as a mapping, constraints checked."""
    raw = request.items(member)
    if len(raw) > MAX_TAGS:
        raise constraint(
            f"{len(raw)} tags", member, f"have length less than or equal to {MAX_TAGS}"
        )
    tags: dict[str, str] = {}
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            raise serialization(f"{member}.{index + 1} must be a structure")
        tag = Request(item, request.region, f"{request.at(member)}.{index + 1}.member")
        key = tag.required_string("Key", min_length=1, max_length=128, pattern=TAG_KEY_PATTERN)
        tags[key] = tag.string("Value", max_length=256, pattern=TAG_VALUE_PATTERN) or ""
    return tags


def _limit(message: str) -> ApiError:
    return ApiError("LimitExceededException", message)


def tag_delivery_stream(context: ApiContext, request: Request) -> dict[str, Any]:
    _, run = find_run(context, request)
    added = read_tags(request, "Tags")
    if not added:
        raise constraint("[]", "tags", "have length greater than or equal to 1")
    merged = {**run.record.tags, **added}
    if len(merged) > MAX_TAGS:
        raise _limit(f"A delivery stream can have at most {MAX_TAGS} tags.")
    run.record.tags = merged
    save_record(context.settings, run.record)
    return {}


def untag_delivery_stream(context: ApiContext, request: Request) -> dict[str, Any]:
    _, run = find_run(context, request)
    keys = request.items("TagKeys")
    if not 1 <= len(keys) <= MAX_TAGS:
        raise constraint(f"{len(keys)} keys", "tagKeys", f"have length between 1 and {MAX_TAGS}")
    run.record.tags = {k: v for k, v in run.record.tags.items() if k not in set(map(str, keys))}
    save_record(context.settings, run.record)
    return {}


def list_tags_for_delivery_stream(context: ApiContext, request: Request) -> dict[str, Any]:
    _, run = find_run(context, request)
    after = request.string("ExclusiveStartTagKey", min_length=1, max_length=128) or ""
    limit = request.integer("Limit", minimum=1, maximum=MAX_TAGS, default=MAX_TAGS) or MAX_TAGS
    tags = [{"Key": k, "Value": v} for k, v in sorted(run.record.tags.items()) if k > after]
    return {"Tags": tags[:limit], "HasMoreTags": len(tags) > limit}
