"""The Firehose API over tidebox's delivery streams: create, describe, list and delete them,
put records, tag them.

A delivery stream created here is a tidebox delivery stream (its spec kept as ``tidebox sink
create`` keeps one), run on a thread of the endpoint (:mod:`tidebox.api.firehose_runs`).
DirectPut ones read a Kafka stream of their own, ``__firehose-<name>`` (one shard), which
PutRecord and PutRecordBatch write; KinesisStreamAsSource ones read the tidebox stream their
KinesisStreamARN names, from where it ended when they were created, as Firehose reads from
LATEST. The destination is read by :mod:`tidebox.api.firehose_config`; records are put by
:mod:`tidebox.api.firehose_records`, tags kept by :mod:`tidebox.api.firehose_tags`.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from tidebox.api.context import ApiContext, as_api_error
from tidebox.api.errors import in_use, invalid_argument
from tidebox.api.firehose_config import ROLE_ARN, make_spec, read_destination, s3_description
from tidebox.api.firehose_records import put_record, put_record_batch
from tidebox.api.firehose_runs import (
    NAME_PATTERN,
    DeliveryRun,
    delivery_stream_name,
    find_run,
    service_of,
)
from tidebox.api.firehose_state import (
    DIRECT_PUT,
    KINESIS_SOURCE,
    DeliveryStreamRecord,
    direct_put_stream,
    forget_record,
    save_record,
)
from tidebox.api.firehose_tags import (
    list_tags_for_delivery_stream,
    read_tags,
    tag_delivery_stream,
    untag_delivery_stream,
)
from tidebox.api.protocol import ACCOUNT, Request
from tidebox.core.errors import StreamExistsError, StreamNotFoundError, TideboxError
from tidebox.core.settings import Settings, SinkSpec, created_sink_path

log = logging.getLogger("tidebox.api.firehose")
KINESIS_ARN = r"arn:.*:kinesis:[a-zA-Z0-9\-]+:\d{12}:stream/[a-zA-Z0-9_.-]+"
TYPES = ("DirectPut", "KinesisStreamAsSource", "MSKAsSource", "DatabaseAsSource")
DESTINATION_ID = "destinationId-000000000001"
VERSION_ID = "1"  # UpdateDestination is not offered, so a delivery stream keeps its first


def arn(region: str, name: str) -> str:
    return f"arn:aws:firehose:{region}:{ACCOUNT}:deliverystream/{name}"


def resume(context: ApiContext) -> None:
    """Run the delivery streams created through the API on this state folder (at start)."""
    service_of(context).resume()


# -- create ---------------------------------------------------------------------------------------
def create_delivery_stream(context: ApiContext, request: Request) -> dict[str, Any]:
    service = service_of(context)
    settings = context.settings
    name = delivery_stream_name(request)
    kind = request.enum("DeliveryStreamType", TYPES) or DIRECT_PUT
    if request.has("DeliveryStreamEncryptionConfigurationInput"):
        raise invalid_argument(
            "tidebox does not support DeliveryStreamEncryptionConfigurationInput."
        )
    tags = read_tags(request, "Tags")
    if not service.reserve(name):
        raise in_use(f"Firehose {name} under accountId {ACCOUNT} already exists.")
    try:
        if name in service.declared or created_sink_path(settings.state_dir, name).exists():
            raise in_use(
                f"Firehose {name} under accountId {ACCOUNT} already exists: a tidebox delivery "
                "stream has that name (tidebox.yaml, built in, or 'tidebox sink create')."
            )
        run = _create(context, request, name, kind, tags)
    except BaseException:
        service.release(name)
        raise
    service.add(run)
    return {"DeliveryStreamARN": arn(request.region, name)}


def _create(
    context: ApiContext, request: Request, name: str, kind: str, tags: dict[str, str]
) -> DeliveryRun:
    from tidebox.delivery.registry import create_sink

    settings = context.settings
    source, stream, start_at = _source(context, request, name, kind)
    destination = read_destination(settings, request)
    spec = make_spec(name, stream, destination)
    others = tuple(s for s in settings.sinks if s.name != name)  # one deleted here before
    alone = settings.model_copy(update={"sinks": others})
    _check_delivery(alone, spec)
    record = DeliveryStreamRecord(
        name=name,
        kind=kind,
        stream=stream,
        created=round(time.time(), 3),
        destination=destination.description,
        source=source,
        start_at=start_at,
        tags=tags,
    )
    try:
        if kind == DIRECT_PUT:
            _fresh_stream(settings, stream)
        save_record(settings, record)
        spec = create_sink(alone, spec)
    except TideboxError as exc:
        forget_record(settings, name)
        if kind == DIRECT_PUT:
            _delete_stream(settings, stream)
        raise as_api_error(exc) from exc
    return DeliveryRun(record, spec)


def _delete_stream(settings: Settings, stream: str) -> None:
    from tidebox.streams.admin import delete_stream

    with contextlib.suppress(TideboxError):
        delete_stream(settings, stream)


def _check_delivery(settings: Settings, spec: SinkSpec) -> None:
    """Refuse what tidebox's delivery refuses (prefixes, jq keys, the transform)."""
    from tidebox.delivery.specs import open_delivery

    try:
        open_delivery(settings, spec)
    except TideboxError as exc:
        raise invalid_argument(str(exc)) from exc


def _source(
    context: ApiContext, request: Request, name: str, kind: str
) -> tuple[dict[str, Any], str, dict[int, int]]:
    """The source as given, the Kafka stream delivered, and where its shards start."""
    direct = request.section("DirectPutSourceConfiguration")
    kinesis = request.section("KinesisStreamSourceConfiguration")
    for other in ("MSKSourceConfiguration", "DatabaseSourceConfiguration"):
        if request.has(other):
            raise invalid_argument(f"tidebox does not support {other}.")
    if kind not in (DIRECT_PUT, KINESIS_SOURCE):
        raise invalid_argument(f"tidebox does not support DeliveryStreamType {kind}.")
    if kind == DIRECT_PUT:
        if kinesis.body:
            raise invalid_argument(
                "KinesisStreamSourceConfiguration is only for a KinesisStreamAsSource delivery "
                "stream."
            )
        if direct.body:
            direct.integer("ThroughputHintInMBs", required=True, minimum=1, maximum=100)
        return dict(direct.body), direct_put_stream(name), {}
    if direct.body:
        raise invalid_argument(
            "DirectPutSourceConfiguration is only for a DirectPut delivery stream."
        )
    if not kinesis.body:
        raise invalid_argument(
            "KinesisStreamSourceConfiguration is required for a KinesisStreamAsSource delivery "
            "stream."
        )
    stream_arn = kinesis.required_string(
        "KinesisStreamARN", min_length=1, max_length=512, pattern=KINESIS_ARN
    )
    kinesis.required_string("RoleARN", min_length=1, max_length=512, pattern=ROLE_ARN)
    stream = stream_arn.rpartition("/")[2]
    return dict(kinesis.body), stream, _ends(context.settings, stream, stream_arn)


def _ends(settings: Settings, stream: str, stream_arn: str) -> dict[int, int]:
    """Where each shard of the Kinesis source ends now: delivery starts there (LATEST)."""
    from tidebox.streams.admin import shard_offsets

    try:
        return {p: high for p, (_, high) in shard_offsets(settings, stream).items()}
    except StreamNotFoundError as exc:
        raise invalid_argument(
            f"KinesisStreamARN {stream_arn}: stream {stream} under account {ACCOUNT} not found."
        ) from exc
    except TideboxError as exc:
        raise as_api_error(exc) from exc


def _fresh_stream(settings: Settings, stream: str, timeout_s: float = 30.0) -> None:
    """Create a DirectPut delivery stream's Kafka stream empty: one left by a delivery stream
    of the same name (its deletion cut short) is deleted first."""
    from kafka.errors import KafkaError

    from tidebox.streams.admin import create_stream, delete_stream

    deadline = time.monotonic() + timeout_s
    deleted = False
    while True:
        try:
            create_stream(settings, stream, 1, 24.0)
            return
        except StreamExistsError:
            if not deleted:
                with contextlib.suppress(StreamNotFoundError):
                    delete_stream(settings, stream)
                deleted = True
        except KafkaError as exc:  # a name Kafka refuses (one colliding with another's, say)
            raise TideboxError(f"cannot create stream {stream}: {exc}") from exc
        if time.monotonic() > deadline:
            raise TideboxError(f"stream {stream} is still being deleted; try again")
        time.sleep(0.2)


# -- describe, list, delete ----------------------------------------------------------------------
def describe_delivery_stream(context: ApiContext, request: Request) -> dict[str, Any]:
    _, run = find_run(context, request)
    request.integer("Limit", minimum=1, maximum=10_000)
    after = request.string(
        "ExclusiveStartDestinationId", min_length=1, max_length=100, pattern=r"[a-zA-Z0-9-]+"
    )
    record = run.record
    description: dict[str, Any] = {
        "DeliveryStreamName": record.name,
        "DeliveryStreamARN": arn(request.region, record.name),
        "DeliveryStreamStatus": run.status,
        "DeliveryStreamEncryptionConfiguration": {"Status": "DISABLED"},
        "DeliveryStreamType": record.kind,
        "VersionId": VERSION_ID,
        "CreateTimestamp": record.created,
        "Destinations": []
        if after is not None and after >= DESTINATION_ID
        else [
            {
                "DestinationId": DESTINATION_ID,
                "S3DestinationDescription": s3_description(record.destination),
                "ExtendedS3DestinationDescription": record.destination,
            }
        ],
        "HasMoreDestinations": False,
    }
    if run.failure is not None and run.status == "CREATING_FAILED":
        description["FailureDescription"] = {"Type": "UNKNOWN_ERROR", "Details": run.failure[:1024]}
    if record.kind == KINESIS_SOURCE:
        source = {**record.source, "DeliveryStartTimestamp": record.created}
        description["Source"] = {"KinesisStreamSourceDescription": source}
    elif record.source:
        description["Source"] = {"DirectPutSourceDescription": record.source}
    return {"DeliveryStreamDescription": description}


def list_delivery_streams(context: ApiContext, request: Request) -> dict[str, Any]:
    service = service_of(context)
    limit = request.integer("Limit", minimum=1, maximum=10_000, default=10) or 10
    kind = request.enum("DeliveryStreamType", TYPES)
    after = request.string(
        "ExclusiveStartDeliveryStreamName", min_length=1, max_length=64, pattern=NAME_PATTERN
    )
    names = []
    for name in service.names():
        run = service.find(name)
        if run is None or (kind is not None and run.record.kind != kind):
            continue
        if after is None or name > after:
            names.append(name)
    return {"DeliveryStreamNames": names[:limit], "HasMoreDeliveryStreams": len(names) > limit}


def delete_delivery_stream(context: ApiContext, request: Request) -> dict[str, Any]:
    """Stop the delivery stream (its buffers delivered), then forget it: its spec, its delivery
    state and offsets, and a DirectPut one's Kafka stream. What it delivered stays."""
    service, run = find_run(context, request)
    request.boolean("AllowForceDelete")
    name = run.record.name
    if run.status == "CREATING":
        raise in_use(
            f"Firehose {name} under account {ACCOUNT} is CREATING and cannot be deleted yet."
        )
    if run.status == "DELETING":
        return {}  # another call is deleting it
    run.close_writes()
    service.remove(name)
    _forget_delivery(context.settings, run)
    return {}


def _forget_delivery(settings: Settings, run: DeliveryRun) -> None:
    from tidebox.delivery.registry import delete_sink
    from tidebox.delivery.runner import run_sink

    name = run.record.name
    if run.record.kind == DIRECT_PUT:
        try:  # what was acknowledged but not consumed yet: its stream is about to go
            run_sink(settings, run.spec, until_caught_up=True)
        except TideboxError as exc:
            log.warning("delivery stream %s: could not deliver the rest: %s", name, exc)
    try:
        _forget_state(settings, run.spec)
    except TideboxError as exc:
        log.warning("delivery stream %s: its delivery state stays: %s", name, exc)
    if run.record.kind == DIRECT_PUT:
        _delete_stream(settings, run.record.stream)
    with contextlib.suppress(TideboxError):
        delete_sink(settings.model_copy(update={"sinks": ()}), name)
    forget_record(settings, name)


def _forget_state(settings: Settings, spec: SinkSpec) -> None:
    """Forget where delivery stands (a delivery stream of this name later starts afresh) and
    its consumer group's offsets; the objects delivered stay, as S3's do after Firehose."""
    from tidebox.core.clients import make_admin
    from tidebox.delivery.ledger import state_key
    from tidebox.delivery.lock import exclusive
    from tidebox.delivery.runner import sink_group
    from tidebox.delivery.specs import sink_store

    with exclusive(settings, spec.name):
        sink_store(settings, spec).delete(state_key(spec.name))
    with contextlib.suppress(TideboxError):
        admin = make_admin(settings)
        try:
            if sink_group(spec.name) in {g["group_id"] for g in admin.list_groups()}:
                admin.delete_groups([sink_group(spec.name)])
        finally:
            admin.close()


OPERATIONS: dict[str, Callable[[ApiContext, Request], dict[str, Any]]] = {
    "CreateDeliveryStream": create_delivery_stream,
    "DescribeDeliveryStream": describe_delivery_stream,
    "ListDeliveryStreams": list_delivery_streams,
    "DeleteDeliveryStream": delete_delivery_stream,
    "PutRecord": put_record,
    "PutRecordBatch": put_record_batch,
    "TagDeliveryStream": tag_delivery_stream,
    "UntagDeliveryStream": untag_delivery_stream,
    "ListTagsForDeliveryStream": list_tags_for_delivery_stream,
}
