"""The transform hook: a Python function in place of Firehose's data-transformation Lambda.

The function is named in config as ``module:function`` or ``path/to/file.py:function`` and is
called as a Lambda handler is, ``function(event, context)``, with
``event = {"invocationId", "deliveryStreamArn", "region", "records": [{"recordId",
"approximateArrivalTimestamp", "data"}]}`` where ``data`` is base64. It returns
``{"records": [{"recordId", "result": "Ok" | "Dropped" | "ProcessingFailed", "data",
"metadata": {"partitionKeys": {...}}?}]}``. ``context`` is a Lambda context object
(``tidebox.delivery.lambda_context``), new for every call, as each call is an invocation of its
own. A Lambda written for Firehose runs unchanged.

Firehose's rules hold: every recordId must be answered exactly once, with a known result and,
for Ok, base64 data. A call that raises or breaks a rule is tried again (3 retries by default);
if it never succeeds, the whole batch goes to the error output as ``processing-failed``, with
the reason in every record's errorMessage, and the sink says so on stderr. ``ProcessingFailed``
records go there one by one.
"""

from __future__ import annotations

import base64
import importlib
import importlib.util
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tidebox.core.errors import ConfigError
from tidebox.delivery.arns import REGION, arn
from tidebox.delivery.lambda_context import DEFAULT_TIMEOUT_MS, LambdaContext

RESULTS = ("Ok", "Dropped", "ProcessingFailed")


@dataclass(frozen=True)
class Outcome:
    """What the transform made of one input record."""

    result: str  # Ok | Dropped | ProcessingFailed
    data: bytes = b""
    error_code: str = ""
    error_message: str = ""
    partition_keys: dict[str, Any] = field(default_factory=dict)
    attempts: int = 1


class TransformBatchError(Exception):
    """A call broke Firehose's rules; ``code`` is the errorCode its records are written with."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def load_function(reference: str) -> Callable[..., Any]:
    """The callable ``module:function`` or ``file.py:function`` names; ConfigError if none."""
    target, sep, name = reference.rpartition(":")
    if not sep or not target or not name:
        raise ConfigError(f"processor '{reference}': expected module:function or file.py:function")
    try:
        if target.endswith(".py"):
            path = Path(target)
            if not path.is_file():
                raise ConfigError(f"processor '{reference}': file {target} not found")
            spec = importlib.util.spec_from_file_location(f"tidebox_processor_{path.stem}", path)
            if spec is None or spec.loader is None:
                raise ConfigError(f"processor '{reference}': cannot load {target}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(target)
    except ConfigError:
        raise
    except Exception as exc:  # the user's module failed on import: say so in one line
        raise ConfigError(f"processor '{reference}': import failed: {exc!r}") from exc
    function = getattr(module, name, None)
    if not callable(function):
        raise ConfigError(f"processor '{reference}': {target} has no function '{name}'")
    return function


def function_name(reference: str) -> str:
    """The Lambda function's name for a reference: its file's or module's last name, as a
    function is usually named after its code (``processors/enrich.py:handler`` is ``enrich``)."""
    target = reference.rpartition(":")[0]
    if target.endswith(".py"):
        return Path(target).stem
    return target.rpartition(".")[2]


class Transformer:
    """Calls the transform on batches and checks each answer against Firehose's rules."""

    def __init__(
        self,
        reference: str,
        stream_name: str,
        retries: int = 3,
        timeout_ms: int = DEFAULT_TIMEOUT_MS,
    ) -> None:
        self.reference = reference
        self.function = load_function(reference)
        self.function_name = function_name(reference)
        self.stream_name = stream_name
        self.retries = retries
        self.timeout_ms = timeout_ms

    def transform(self, values: list[bytes], arrivals: list[int]) -> list[Outcome]:
        """One Outcome per input value, in order."""
        ids = [f"{i:08d}" for i in range(len(values))]
        event = {
            "invocationId": str(uuid.uuid4()),
            "deliveryStreamArn": arn("firehose", f"deliverystream/{self.stream_name}"),
            "region": REGION,
            "records": [
                {
                    "recordId": rid,
                    "approximateArrivalTimestamp": arrival,
                    "data": base64.b64encode(value).decode("ascii"),
                }
                for rid, value, arrival in zip(ids, values, arrivals, strict=True)
            ],
        }
        failure = TransformBatchError("Lambda.FunctionError", "never called")
        for attempt in range(1, self.retries + 2):
            try:
                context = LambdaContext(self.function_name, self.timeout_ms)
                return self._answers(self.function(event, context), ids, attempt)
            except TransformBatchError as exc:
                failure = exc
            except Exception as exc:  # the user's function raised: a FunctionError, as Lambda's
                failure = TransformBatchError(
                    "Lambda.FunctionError", f"{self.reference} raised {exc!r}"
                )
        return [
            Outcome(
                "ProcessingFailed",
                error_code=failure.code,
                error_message=failure.message,
                attempts=self.retries + 1,
            )
            for _ in values
        ]

    def _answers(self, response: Any, ids: list[str], attempt: int) -> list[Outcome]:
        records = response.get("records") if isinstance(response, dict) else None
        if not isinstance(records, list):
            raise TransformBatchError(
                "Lambda.InvalidReturnValue",
                f"{self.reference} must return {{'records': [...]}}, got {type(response).__name__}",
            )
        answers: dict[str, Outcome] = {}
        for record in records:
            rid = record.get("recordId") if isinstance(record, dict) else None
            if rid not in ids:
                raise TransformBatchError(
                    "Lambda.UnknownRecordId",
                    f"{self.reference} answered an unknown recordId {rid!r}",
                )
            if rid in answers:
                raise TransformBatchError(
                    "Lambda.DuplicatedRecordId", f"{self.reference} answered recordId {rid} twice"
                )
            answers[rid] = self._outcome(record, attempt)
        missing = [rid for rid in ids if rid not in answers]
        if missing:
            raise TransformBatchError(
                "Lambda.MissingRecordId",
                f"{self.reference} did not answer {len(missing)} of {len(ids)} recordIds "
                f"(first: {missing[0]})",
            )
        return [answers[rid] for rid in ids]

    def _outcome(self, record: dict[str, Any], attempt: int) -> Outcome:
        result = record.get("result")
        if result not in RESULTS:
            raise TransformBatchError(
                "Lambda.InvalidReturnValue",
                f"{self.reference}: recordId {record.get('recordId')} has result {result!r} "
                "(Ok, Dropped or ProcessingFailed)",
            )
        if result == "Dropped":
            return Outcome("Dropped", attempts=attempt)
        data = record.get("data")
        try:
            decoded = base64.b64decode(data, validate=True) if isinstance(data, str) else None
        except ValueError:
            decoded = None
        if result == "ProcessingFailed":
            return Outcome(
                "ProcessingFailed",
                data=decoded or b"",
                error_code="Lambda.ProcessingFailed",
                error_message="the transform returned ProcessingFailed for this record",
                attempts=attempt,
            )
        if decoded is None:
            raise TransformBatchError(
                "Lambda.InvalidReturnValue",
                f"{self.reference}: recordId {record.get('recordId')} is Ok but its data is not "
                "base64 text",
            )
        metadata = record.get("metadata") or {}
        keys = metadata.get("partitionKeys") if isinstance(metadata, dict) else None
        return Outcome("Ok", data=decoded, partition_keys=dict(keys or {}), attempts=attempt)
