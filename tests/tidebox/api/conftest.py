"""One AWS endpoint for the API tests, on a thread, in front of the session's real broker;
boto3 clients and the AWS CLI reach it over HTTP as they would reach AWS."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support import free_port
from tidebox.api.server import ServerThread, start_in_thread
from tidebox.core.settings import Settings

CREDENTIALS = {"aws_access_key_id": "tidebox", "aws_secret_access_key": "tidebox"}


@pytest.fixture(scope="session")
def api_settings(kafka_settings: Settings) -> Settings:
    return kafka_settings.model_copy(update={"api_port": free_port(), "shard_limits": True})


@pytest.fixture(scope="session")
def endpoint(api_settings: Settings) -> Iterator[ServerThread]:
    running = start_in_thread(api_settings)
    yield running
    running.stop()


def error_of(call: Any, **kwargs: Any) -> tuple[str, int, str]:
    """The AWS error a boto3 call answered with: its code, HTTP status and message."""
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    response = caught.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Message"],
    )


def client(service: str, url: str, **config: Any) -> Any:
    """A real boto3 client of ``service`` pointed at ``url``; no retries unless asked, so a
    test sees every error the endpoint gives."""
    import boto3
    from botocore.config import Config

    retries = {"total_max_attempts": config.pop("attempts", 1), "mode": "standard"}
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="eu-west-1",
        config=Config(retries=retries, **config),  # type: ignore[arg-type]
        **CREDENTIALS,
    )


@pytest.fixture(scope="session")
def kinesis(endpoint: ServerThread) -> Any:
    return client("kinesis", endpoint.url)
