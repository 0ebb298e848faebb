"""The ``context`` a Firehose transform gets: the object AWS Lambda's Python runtime passes.

Lambda calls a handler as ``handler(event, context)``; Firehose transform Lambdas commonly log
``context.aws_request_id`` or check ``context.get_remaining_time_in_millis()`` before taking on
more records. The fields here are those of the Python runtime's context object, with the same
types: ``memory_limit_in_mb`` is a string there (it comes from an environment variable), and
``identity`` is an object whose Cognito ids are ``None`` outside a mobile SDK call, while
``client_context`` is ``None``.

The clock counts down from the function's timeout, by default Lambda's own default of 3 s
(Firehose allows transform functions up to 5 minutes). Nothing stops a call that overruns it:
the countdown stops at 0, as the runtime's does, and the handler decides what to do with it.
"""

from __future__ import annotations

import sys
import time
import uuid
from dataclasses import dataclass

from tidebox.delivery.arns import arn

DEFAULT_TIMEOUT_MS = 3_000  # Lambda's default function timeout
DEFAULT_MEMORY_MB = 128  # Lambda's default memory size


@dataclass(frozen=True)
class CognitoIdentity:
    """``context.identity``: who authorized a mobile SDK call; both ids are None otherwise."""

    cognito_identity_id: str | None = None
    cognito_identity_pool_id: str | None = None


class LambdaContext:
    """One invocation's context: a fresh ``aws_request_id`` and a clock started at creation."""

    def __init__(
        self,
        function_name: str,
        timeout_ms: int = DEFAULT_TIMEOUT_MS,
        memory_mb: int = DEFAULT_MEMORY_MB,
    ) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = arn("lambda", f"function:{function_name}")
        self.memory_limit_in_mb = str(memory_mb)
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"
        self.identity = CognitoIdentity()
        self.client_context: object | None = None
        self._deadline = time.monotonic() + timeout_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function's timeout; 0 once it has passed."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))

    def log(self, message: object) -> None:
        """Write to the function's log: here the sink's stderr."""
        sys.stderr.write(str(message))

    def __repr__(self) -> str:
        return (
            f"LambdaContext(function_name={self.function_name!r}, "
            f"aws_request_id={self.aws_request_id!r})"
        )
