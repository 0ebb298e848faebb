"""Firehose's S3 prefixes: ``!{namespace:value}`` expressions, evaluated for each delivered object.

Namespaces, as in Firehose:

* ``!{timestamp:<Java DateTimeFormatter pattern>}``: UTC, from the arrival time of the oldest
  record in the object; every use in one prefix gives the same instant.
* ``!{firehose:random-string}``: 11 characters; tidebox derives them from the object's source
  shard and first offset, so that delivering the same records again names the same object.
* ``!{firehose:error-output-type}``: only in the error output prefix.
* ``!{partitionKeyFromQuery:<key>}`` (jq dynamic partitioning) and
  ``!{partitionKeyFromLambda:<key>}`` (keys the transform returns): not in the error prefix.

A partition value is made safe before it becomes part of a key: ``/``, ``\\``, ``%``, control
characters and NUL are percent-encoded, ``.`` and ``..`` cannot stand as a folder, and empty,
null or very long values are refused (the record goes to the error output), so no value can
climb out of the prefix it was given.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from tidebox.core.errors import ConfigError

DEFAULT_PREFIX = "!{timestamp:yyyy/MM/dd/HH/}"
DEFAULT_ERROR_PREFIX = "!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH/}"
MAX_PARTITION_VALUE = 512  # characters; S3 keys end at 1024 bytes
RANDOM_LENGTH = 11
ERROR_OUTPUT_TYPES = (
    "processing-failed",
    "format-conversion-failed",
    "dynamic-partitioning-failed",
    "activePartitionExceeded",
)

_EXPRESSION = re.compile(r"!\{([^}:]*):([^}]*)\}")
_KEY_NAMESPACES = ("partitionKeyFromQuery", "partitionKeyFromLambda")


class PartitionValueError(ValueError):
    """A partition key's value cannot become part of an object key."""


@dataclass(frozen=True)
class Part:
    """One piece of a prefix: literal text, or an expression to evaluate."""

    kind: str  # "text" | "timestamp" | "random" | "error-type" | a key namespace
    value: str


@dataclass(frozen=True)
class Prefix:
    """A parsed prefix; :meth:`render` evaluates it for one object."""

    text: str
    parts: tuple[Part, ...]

    def keys(self, namespace: str) -> list[str]:
        """Names of the partition keys of ``namespace`` that this prefix uses."""
        return [p.value for p in self.parts if p.kind == namespace]

    @property
    def static(self) -> str:
        """The part before the first expression: where every object of this prefix lies."""
        head = ""
        for part in self.parts:
            if part.kind != "text":
                break
            head += part.value
        return head

    @property
    def folder(self) -> str:
        """The folder every object of this prefix lies under: :attr:`static` up to its last
        ``/`` (``a/dt=`` gives ``a/``)."""
        return self.static[: self.static.rfind("/") + 1]

    def render(
        self,
        oldest_arrival_ms: int,
        seed: str,
        keys: dict[str, dict[str, str]] | None = None,
        error_type: str | None = None,
    ) -> str:
        instant = datetime.fromtimestamp(oldest_arrival_ms / 1000, UTC)
        out = []
        for part in self.parts:
            if part.kind == "text":
                out.append(part.value)
            elif part.kind == "timestamp":
                out.append(format_java_time(instant, part.value))
            elif part.kind == "random":
                out.append(random_string(seed))
            elif part.kind == "error-type":
                out.append(error_type or "processing-failed")
            else:
                out.append((keys or {}).get(part.kind, {})[part.value])
        return "".join(out)


def parse_prefix(text: str, error_output: bool = False, keys: tuple[str, ...] = ()) -> Prefix:
    """Parse and check a prefix; ``keys`` are the query partition keys the stream defines."""
    where = "error_output_prefix" if error_output else "prefix"
    parts: list[Part] = []
    position = 0
    for match in _EXPRESSION.finditer(text):
        parts.append(Part("text", text[position : match.start()]))
        namespace, value = match.group(1), match.group(2)
        parts.append(_expression(where, namespace, value, error_output, keys))
        position = match.end()
    rest = text[position:]
    if "!{" in rest:
        raise ConfigError(f"{where} '{text}': unclosed or malformed expression '!{{...}}'")
    parts.append(Part("text", rest))
    parts = [p for p in parts if p.kind != "text" or p.value]
    if len(text) > 1024:
        raise ConfigError(f"{where}: longer than Firehose's 1024 characters")
    return Prefix(text, tuple(parts))


def _expression(
    where: str, namespace: str, value: str, error_output: bool, keys: tuple[str, ...]
) -> Part:
    if namespace == "timestamp":
        compile_java_pattern(value, where)  # check it now
        return Part("timestamp", value)
    if namespace == "firehose":
        if value == "random-string":
            return Part("random", value)
        if value == "error-output-type":
            if not error_output:
                raise ConfigError(
                    f"{where}: !{{firehose:error-output-type}} is only allowed in "
                    "error_output_prefix"
                )
            return Part("error-type", value)
        raise ConfigError(
            f"{where}: unknown !{{firehose:{value}}} (random-string or error-output-type)"
        )
    if namespace in _KEY_NAMESPACES:
        if error_output:
            raise ConfigError(f"{where}: !{{{namespace}:...}} is not allowed in the error prefix")
        if namespace == "partitionKeyFromQuery" and value not in keys:
            known = ", ".join(keys) or "none: declare dynamic_partitioning.partition_keys"
            raise ConfigError(f"{where}: unknown partition key '{value}' (keys: {known})")
        if not value:
            raise ConfigError(f"{where}: !{{{namespace}:}} needs a key name")
        return Part(namespace, value)
    raise ConfigError(
        f"{where}: unknown namespace '{namespace}' in !{{{namespace}:{value}}} "
        "(timestamp, firehose, partitionKeyFromQuery, partitionKeyFromLambda)"
    )


def effective_prefix(prefix: str | None, dynamic: bool) -> str:
    """Firehose's rule: no prefix means ``yyyy/MM/dd/HH/``; a prefix without any expression gets
    that time path appended (unless dynamic partitioning is on)."""
    if not prefix:
        return DEFAULT_PREFIX
    if not dynamic and not _EXPRESSION.search(prefix):
        return prefix + DEFAULT_PREFIX
    return prefix


def random_string(seed: str) -> str:
    """Firehose's random string, but a pure function of ``seed`` (lowercase letters, digits)."""
    digest = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:10], "big")
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    chars = []
    for _ in range(RANDOM_LENGTH):
        digest, index = divmod(digest, len(alphabet))
        chars.append(alphabet[index])
    return "".join(chars)


def safe_partition_value(name: str, value: object) -> str:
    """The text a partition key's value takes in an object key; PartitionValueError if none."""
    if not isinstance(value, str | int | float | bool | None):
        raise PartitionValueError(f"partition key '{name}' is not a scalar: {value!r:.80}")
    return _safe_scalar(name, value)


@functools.lru_cache(maxsize=65536, typed=True)
def _safe_scalar(name: str, value: str | int | float | bool | None) -> str:
    if value is None:
        raise PartitionValueError(f"partition key '{name}' is null")
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int | float):
        text = str(int(value)) if float(value).is_integer() else repr(float(value))
    else:
        text = value
    if not text:
        raise PartitionValueError(f"partition key '{name}' is empty")
    if len(text) > MAX_PARTITION_VALUE:
        raise PartitionValueError(
            f"partition key '{name}' is {len(text)} characters long (at most {MAX_PARTITION_VALUE})"
        )
    encoded = _UNSAFE.sub(_encode_match, text)
    if encoded in (".", ".."):
        encoded = encoded.replace(".", "%2E")
    return encoded


_UNSAFE = re.compile(r"[/\\%\x00-\x1f\x7f]")


def _encode_match(match: re.Match[str]) -> str:
    return "".join(f"%{b:02X}" for b in match.group(0).encode())


# -- Java DateTimeFormatter, the subset prefixes use -------------------------------------------
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def compile_java_pattern(pattern: str, where: str = "prefix") -> list[tuple[str, str]]:
    """Split a DateTimeFormatter pattern into (letters, literal) tokens; ConfigError if a letter
    is not one tidebox renders (y u M L d D H h k m s S E a)."""
    tokens: list[tuple[str, str]] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "'":
            end = pattern.find("'", i + 1)
            if end == -1:
                raise ConfigError(f"{where}: unclosed quote in timestamp pattern '{pattern}'")
            tokens.append(("", "'" if end == i + 1 else pattern[i + 1 : end]))
            i = end + 1
        elif char.isalpha():
            run = i
            while run < len(pattern) and pattern[run] == char:
                run += 1
            if char not in "yuMLdDHhkmsSEa":
                raise ConfigError(
                    f"{where}: timestamp pattern '{pattern}': letter '{char}' is not supported"
                )
            tokens.append((pattern[i:run], ""))
            i = run
        else:
            tokens.append(("", char))
            i += 1
    return tokens


def format_java_time(instant: datetime, pattern: str) -> str:
    """``instant`` formatted as Java's DateTimeFormatter formats ``pattern``."""
    out = []
    for letters, literal in compile_java_pattern(pattern):
        out.append(literal if not letters else _field(instant, letters))
    return "".join(out)


def _field(t: datetime, letters: str) -> str:
    char, width = letters[0], len(letters)
    if char in "yu":
        return f"{t.year % 100:02d}" if width == 2 else f"{t.year:0{width}d}"
    if char in "ML":
        if width >= 4:
            return _MONTHS[t.month - 1]
        if width == 3:
            return _MONTHS[t.month - 1][:3]
        return f"{t.month:0{width}d}"
    if char == "E":
        return _DAYS[t.weekday()] if width >= 4 else _DAYS[t.weekday()][:3]
    if char == "a":
        return "AM" if t.hour < 12 else "PM"
    if char == "S":
        return f"{t.microsecond:06d}{'0' * max(0, width - 6)}"[:width]
    value = {
        "d": t.day,
        "D": t.timetuple().tm_yday,
        "H": t.hour,
        "h": t.hour % 12 or 12,
        "k": t.hour or 24,
        "m": t.minute,
        "s": t.second,
    }[char]
    return f"{value:0{width}d}"
