"""Errors in AWS's shape: an HTTP status and a JSON body ``{"__type": ..., "message": ...}``.

Every failure an API caller can cause is an :class:`ApiError`; the app turns it into the
response AWS would give, so SDKs raise the same exception classes they raise against AWS.
"""

from __future__ import annotations


class ApiError(Exception):
    """One AWS error: its ``__type``, message and HTTP status."""

    def __init__(self, kind: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status

    def body(self) -> dict[str, str]:
        return {"__type": self.kind, "message": self.message}


def invalid_argument(message: str) -> ApiError:
    return ApiError("InvalidArgumentException", message)


def validation(message: str) -> ApiError:
    """A request that breaks a shape's constraint (lengths, patterns, ranges)."""
    return ApiError("ValidationException", message)


def not_found(message: str) -> ApiError:
    return ApiError("ResourceNotFoundException", message)


def in_use(message: str) -> ApiError:
    return ApiError("ResourceInUseException", message)


def throughput_exceeded(message: str) -> ApiError:
    return ApiError("ProvisionedThroughputExceededException", message)


def unavailable(message: str) -> ApiError:
    """The broker behind the endpoint does not answer: 503, which SDKs retry."""
    return ApiError("ServiceUnavailableException", message, 503)


def serialization(message: str) -> ApiError:
    return ApiError("SerializationException", message)


def unknown_operation(target: str) -> ApiError:
    return ApiError("UnknownOperationException", f"operation {target or '(none)'} is not known")
