"""The endpoint's HTTP application: one ``POST /`` that dispatches on ``X-Amz-Target``, as AWS's
JSON services do, and a few ``/_tidebox/`` routes for tidebox's own commands.

Every answer is AWS's: a JSON body with ``application/x-amz-json-1.1``, errors as
``{"__type", "message"}`` with AWS's status. An unexpected failure is logged and answered as
``InternalFailure`` (500) without taking the endpoint down.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import asynccontextmanager
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request as HttpRequest
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tidebox.api import firehose
from tidebox.api import kinesis_records as records
from tidebox.api import kinesis_streams as streams
from tidebox.api.context import ApiContext, as_api_error
from tidebox.api.errors import ApiError, serialization, unknown_operation
from tidebox.api.protocol import Request, region_of
from tidebox.core.errors import TideboxError
from tidebox.core.settings import Settings

log = logging.getLogger("tidebox.api")
CONTENT_TYPE = "application/x-amz-json-1.1"
Operation = Callable[[ApiContext, Request], dict[str, Any]]

KINESIS: dict[str, Operation] = {
    "CreateStream": streams.create_stream,
    "DeleteStream": streams.delete_stream,
    "DescribeStream": streams.describe_stream,
    "DescribeStreamSummary": streams.describe_stream_summary,
    "ListStreams": streams.list_streams,
    "ListShards": streams.list_shards,
    "IncreaseStreamRetentionPeriod": streams.increase_retention,
    "DecreaseStreamRetentionPeriod": streams.decrease_retention,
    "AddTagsToStream": streams.add_tags,
    "RemoveTagsFromStream": streams.remove_tags,
    "ListTagsForStream": streams.list_tags_for_stream,
    "TagResource": streams.tag_resource,
    "UntagResource": streams.untag_resource,
    "ListTagsForResource": streams.list_tags_for_resource,
    "PutRecord": records.put_record,
    "PutRecords": records.put_records,
    "GetShardIterator": records.get_shard_iterator,
    "GetRecords": records.get_records,
}
# target prefix -> its operations; Firehose registers itself here
SERVICES: dict[str, dict[str, Operation]] = {
    "Kinesis_20131202": KINESIS,
    "Firehose_20150804": firehose.OPERATIONS,
}
# run as the endpoint starts: Firehose resumes the delivery streams it created
STARTUP: tuple[Callable[[ApiContext], None], ...] = (firehose.resume,)


def _answer(body: dict[str, Any], status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=CONTENT_TYPE)


def _operation(target: str) -> Operation:
    prefix, _, name = target.partition(".")
    found = SERVICES.get(prefix, {}).get(name)
    if found is None:
        raise unknown_operation(target)
    return found


def call(context: ApiContext, target: str, body: bytes, authorization: str | None) -> Response:
    """Run one call and answer it as AWS would (blocking: run in a worker thread)."""
    try:
        operation = _operation(target)
        try:
            parsed = orjson.loads(body or b"{}")
        except (ValueError, UnicodeDecodeError) as exc:
            raise serialization("the request body is not valid JSON") from exc
        if not isinstance(parsed, dict):
            raise serialization("the request body must be a JSON object")
        return _answer(operation(context, Request(parsed, region_of(authorization))))
    except ApiError as exc:
        return _answer(exc.body(), exc.status)
    except TideboxError as exc:
        error = as_api_error(exc)
        return _answer(error.body(), error.status)
    except Exception:  # a bug: answer it, log it, keep serving
        log.exception("%s failed", target)
        return _answer({"__type": "InternalFailure", "message": f"{target} failed"}, 500)


def make_app(settings: Settings) -> Starlette:
    """The ASGI application; its context (Kafka clients) lives as long as the app runs."""
    context = ApiContext.create(settings)

    async def dispatch(request: HttpRequest) -> Response:
        body = await request.body()
        target = request.headers.get("x-amz-target", "")
        authorization = request.headers.get("authorization")
        return await run_in_threadpool(call, context, target, body, authorization)

    async def health(request: HttpRequest) -> Response:
        return JSONResponse({"service": "tidebox", "kafka": settings.kafka_bootstrap})

    async def usage(request: HttpRequest) -> Response:
        stream = request.path_params["stream"]
        shards = context.limits.usage(stream)
        return JSONResponse({"stream": stream, "limits": context.limits.enabled, "shards": shards})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        for start in STARTUP:
            await run_in_threadpool(start, context)
        yield
        await run_in_threadpool(context.close)

    app = Starlette(
        routes=[
            Route("/", dispatch, methods=["POST"]),
            Route("/", health, methods=["GET"]),
            Route("/_tidebox/usage/{stream}", usage, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.context = context
    return app
