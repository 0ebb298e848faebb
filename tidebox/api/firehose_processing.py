"""Firehose's ProcessingConfiguration read for tidebox: which processors a delivery stream has,
and what each becomes in a :class:`~tidebox.core.settings.SinkSpec`.

* ``Lambda`` becomes the transform hook. ``LambdaArn`` names a function; tidebox looks for it
  in the project: a function of that name in ``sinks/transforms.py``, else the
  ``lambda_handler`` of ``sinks/<name>.py`` (Lambda's default handler name). A value that is
  no ARN is taken as tidebox's own reference, ``module:function`` or ``file.py:function``
  (a relative file is in the project folder).
* ``MetadataExtraction`` becomes dynamic partitioning's jq keys: its query is a jq object,
  ``{key: expression, ...}``, split into one expression per key.
* ``AppendDelimiterToRecord`` is what tidebox does anyway when it writes records as they came
  (one per line), so only its newline delimiter is taken.

Anything else (other processors, other delimiters, parameters tidebox cannot honour) is
refused with InvalidArgumentException naming it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tidebox.api.errors import invalid_argument
from tidebox.api.protocol import Request
from tidebox.core.errors import ConfigError
from tidebox.core.settings import Settings

PROCESSOR_TYPES = (
    "RecordDeAggregation",
    "Decompression",
    "CloudWatchLogProcessing",
    "Lambda",
    "MetadataExtraction",
    "AppendDelimiterToRecord",
)
PARAMETER_NAMES = (
    "LambdaArn",
    "NumberOfRetries",
    "MetadataExtractionQuery",
    "JsonParsingEngine",
    "RoleArn",
    "BufferSizeInMBs",
    "BufferIntervalInSeconds",
    "SubRecordType",
    "Delimiter",
    "CompressionFormat",
    "DataMessageExtraction",
)
# the parameters tidebox takes, per processor type it supports
TAKES = {
    "Lambda": ("LambdaArn", "NumberOfRetries", "BufferSizeInMBs", "RoleArn"),
    "MetadataExtraction": ("MetadataExtractionQuery", "JsonParsingEngine"),
    "AppendDelimiterToRecord": ("Delimiter",),
}
JQ_ENGINE = "JQ-1.6"
LAMBDA_ARN = r"arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:([a-zA-Z0-9_-]{1,64})(:[\w$-]+)?"
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Processing:
    """What a ProcessingConfiguration asks of tidebox."""

    transform: str | None = None  # the transform hook's reference
    retries: int = 3
    buffer_mbs: float = 1.0
    query_keys: dict[str, str] = field(default_factory=dict)  # from MetadataExtraction
    extraction: bool = False  # a MetadataExtraction processor is present


def read_processing(settings: Settings, config: Request) -> Processing:
    """The processors of a ProcessingConfiguration (none when it is absent or disabled)."""
    items = config.items("Processors")
    enabled = config.boolean("Enabled", default=bool(items))
    seen: dict[str, dict[str, str]] = {}
    for index, raw in enumerate(items):
        if not isinstance(raw, dict):
            raise invalid_argument(f"{config.at('Processors')}.{index + 1} must be a structure")
        entry = Request(raw, config.region, f"{config.at('Processors')}.{index + 1}.member")
        kind = entry.enum("Type", PROCESSOR_TYPES, required=True) or ""
        if kind not in TAKES:
            raise invalid_argument(f"tidebox does not support the {kind} processor.")
        if kind in seen:
            raise invalid_argument(f"Only one {kind} processor is allowed.")
        seen[kind] = _parameters(entry, kind)
    if not enabled:
        return Processing()
    processing = Processing()
    if "Lambda" in seen:
        processing = _lambda(settings, seen["Lambda"])
    if "MetadataExtraction" in seen:
        parameters = seen["MetadataExtraction"]
        if parameters.get("JsonParsingEngine") != JQ_ENGINE:
            raise invalid_argument(
                f"MetadataExtraction needs JsonParsingEngine {JQ_ENGINE}, got "
                f"{parameters.get('JsonParsingEngine')!r}."
            )
        query = parameters.get("MetadataExtractionQuery")
        if query is None:
            raise invalid_argument("MetadataExtraction needs a MetadataExtractionQuery.")
        processing = Processing(
            processing.transform,
            processing.retries,
            processing.buffer_mbs,
            query_keys(query),
            extraction=True,
        )
    if "AppendDelimiterToRecord" in seen:
        delimiter = seen["AppendDelimiterToRecord"].get("Delimiter", "\\n")
        if delimiter not in ("\\n", "\n"):
            raise invalid_argument(
                f"tidebox supports AppendDelimiterToRecord only with the delimiter \\n "
                f"(its records are written one per line), not {delimiter!r}."
            )
    return processing


def _parameters(entry: Request, kind: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for index, raw in enumerate(entry.items("Parameters")):
        if not isinstance(raw, dict):
            raise invalid_argument(f"{entry.at('Parameters')}.{index + 1} must be a structure")
        parameter = Request(raw, entry.region, f"{entry.at('Parameters')}.{index + 1}.member")
        name = parameter.enum("ParameterName", PARAMETER_NAMES, required=True) or ""
        value = parameter.required_string(
            "ParameterValue", min_length=1, max_length=5120, pattern=r"(?s)(?!\s*$).+"
        )
        if name not in TAKES[kind]:
            raise invalid_argument(
                f"tidebox does not support parameter {name} of the {kind} processor."
            )
        found[name] = value
    return found


def _lambda(settings: Settings, parameters: dict[str, str]) -> Processing:
    arn = parameters.get("LambdaArn")
    if arn is None:
        raise invalid_argument("The Lambda processor needs a LambdaArn parameter.")
    retries = _number(parameters, "NumberOfRetries", 3, 0, 300)
    size = _number(parameters, "BufferSizeInMBs", 1.0, 0.2, 3)
    return Processing(transform_reference(settings, arn), int(retries), float(size))


def _number(
    parameters: dict[str, str], name: str, default: float, low: float, high: float
) -> float:
    text = parameters.get(name)
    if text is None:
        return default
    try:
        value = float(text) if name == "BufferSizeInMBs" else int(text)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise invalid_argument(
            f"Lambda parameter {name} must be a number from {low:g} to {high:g}, got {text!r}."
        )
    return value


def transform_reference(settings: Settings, value: str) -> str:
    """The transform hook a LambdaArn parameter names (see the module's docstring)."""
    match = re.fullmatch(LAMBDA_ARN, value)
    if match is None:
        if value.startswith("arn:"):
            raise invalid_argument(f"LambdaArn {value} is not a Lambda function's ARN.")
        target, sep, name = value.rpartition(":")
        if not sep or not target or not name:
            raise invalid_argument(
                f"LambdaArn {value}: expected a Lambda function's ARN, module:function or "
                "file.py:function."
            )
        if target.endswith(".py") and not Path(target).is_absolute():
            value = f"{(settings.project_dir / target).resolve()}:{name}"
        _loads(value)
        return value
    name = match.group(1)
    sinks = (settings.project_dir / "sinks").resolve()
    candidates = [f"{sinks / 'transforms.py'}:{name}", f"{sinks / name}.py:lambda_handler"]
    for candidate in candidates:
        if Path(candidate.rpartition(":")[0]).is_file() and _loads(candidate, missing_ok=True):
            return candidate
    raise invalid_argument(
        f"Lambda function {name} ({value}) is not in this tidebox project: tidebox looks for a "
        f"function {name} in sinks/transforms.py, then for lambda_handler in sinks/{name}.py."
    )


def _loads(reference: str, missing_ok: bool = False) -> bool:
    """Whether ``reference`` loads; a file that does not define the function is False when
    ``missing_ok``, any other problem is the caller's InvalidArgumentException."""
    from tidebox.delivery.transform import load_function

    try:
        load_function(reference)
    except ConfigError as exc:
        if missing_ok and "has no function" in str(exc):
            return False
        raise invalid_argument(f"LambdaArn: {exc}") from exc
    return True


def query_keys(query: str) -> dict[str, str]:
    """The keys of a MetadataExtractionQuery, ``{key: jq expression, ...}``, each with its own
    expression (``{device}`` is jq's short form of ``{device: .device}``)."""
    import jq

    try:
        jq.compile(query)
    except ValueError as exc:
        raise invalid_argument(
            f"MetadataExtractionQuery {query!r} is not valid jq: {str(exc).splitlines()[0]}"
        ) from exc
    text = query.strip()
    if not (text.startswith("{") and text.endswith("}")):
        raise invalid_argument(
            f"MetadataExtractionQuery {query!r} must be a jq object: {{key: expression, ...}}."
        )
    keys: dict[str, str] = {}
    for entry in _split(text[1:-1], ","):
        parts = _split(entry, ":", once=True)
        raw = parts[0].strip()
        if len(parts) == 1:
            if not _IDENTIFIER.fullmatch(raw):
                raise invalid_argument(f"MetadataExtractionQuery: cannot read the entry {raw!r}.")
            keys[raw] = f".{raw}"
            continue
        expression = parts[1].strip()
        name: Any = raw
        if raw.startswith('"') and "\\(" not in raw:
            try:
                name = json.loads(raw)
            except ValueError:
                name = None
        elif not _IDENTIFIER.fullmatch(raw):
            name = None
        if not isinstance(name, str) or not name or not expression:
            raise invalid_argument(
                f"MetadataExtractionQuery: the entry {entry.strip()!r} needs a plain key name "
                "and an expression."
            )
        keys[name] = expression
    if not keys:
        raise invalid_argument("MetadataExtractionQuery names no key.")
    return keys


def _split(text: str, separator: str, once: bool = False) -> list[str]:
    """``text`` split at ``separator`` where it stands outside brackets and strings."""
    parts, depth, start, quoted, escaped = [], 0, 0, False, False
    for index, char in enumerate(text):
        if quoted:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == separator and depth == 0:
            parts.append(text[start:index])
            start = index + 1
            if once:
                break
    parts.append(text[start:])
    return parts
