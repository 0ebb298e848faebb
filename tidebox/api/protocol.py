"""AWS's JSON 1.1 protocol: the request body's members read with the model's constraints, and
values written back as SDKs expect them (blobs in base64, times as epoch seconds)."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

from tidebox.api.errors import ApiError, serialization, validation

ACCOUNT = "000000000000"
DEFAULT_REGION = "us-east-1"
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/")


def region_of(authorization: str | None) -> str:
    """The region a SigV4 ``Authorization`` header was signed for (any credentials pass)."""
    match = _SCOPE.search(authorization or "")
    return match.group(1) if match else DEFAULT_REGION


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def constraint(value: Any, member: str, rule: str) -> ApiError:
    """AWS's wording for one broken constraint of a request member."""
    shown = value if isinstance(value, (int, float)) else str(value)[:80]
    return validation(
        f"1 validation error detected: Value '{shown}' at '{_camel(member)}' failed to satisfy "
        f"constraint: Member must {rule}"
    )


@dataclass(frozen=True)
class Request:
    """One call's members, read with their type and constraints checked; a nested structure
    is read the same way (:meth:`section`), its errors naming the member's whole path as AWS
    does (``extendedS3DestinationConfiguration.bufferingHints.sizeInMBs``)."""

    body: dict[str, Any]
    region: str = DEFAULT_REGION
    path: str = ""  # where this structure sits in the call ("" for the call itself)

    def has(self, member: str) -> bool:
        return self.body.get(member) is not None

    def at(self, member: str) -> str:
        """The path of ``member`` as error messages give it (each part camelCased)."""
        own = _camel(member)
        return f"{self.path}.{own}" if self.path else own

    def section(self, member: str) -> Request:
        """The structure ``member`` (empty if absent), read with the same getters."""
        return Request(self.mapping(member), self.region, self.at(member))

    def boolean(self, member: str, default: bool | None = None) -> bool | None:
        value = self.body.get(member)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise serialization(f"member {member} must be a boolean")
        return value

    def enum(self, member: str, values: tuple[str, ...], required: bool = False) -> str | None:
        """A string that must be one of ``values``."""
        value = self.string(member, required=required)
        if value is not None and value not in values:
            raise constraint(
                value, self.at(member), f"satisfy enum value set: [{', '.join(values)}]"
            )
        return value

    def string(
        self,
        member: str,
        required: bool = False,
        min_length: int = 0,
        max_length: int | None = None,
        pattern: str | None = None,
        default: str | None = None,
    ) -> str | None:
        value = self.body.get(member)
        if value is None:
            if required:
                raise constraint("null", self.at(member), "not be null")
            return default
        if not isinstance(value, str):
            raise serialization(f"member {member} must be a string")
        if len(value) < min_length:
            raise constraint(
                value, self.at(member), f"have length greater than or equal to {min_length}"
            )
        if max_length is not None and len(value) > max_length:
            raise constraint(
                value, self.at(member), f"have length less than or equal to {max_length}"
            )
        if pattern is not None and not re.fullmatch(pattern, value):
            raise constraint(
                value, self.at(member), f"satisfy regular expression pattern: {pattern}"
            )
        return value

    def required_string(self, member: str, **rules: Any) -> str:
        value = self.string(member, required=True, **rules)
        return value if value is not None else ""  # required=True has raised on None

    def integer(
        self,
        member: str,
        required: bool = False,
        minimum: int | None = None,
        maximum: int | None = None,
        default: int | None = None,
    ) -> int | None:
        value = self.body.get(member)
        if value is None:
            if required:
                raise constraint("null", self.at(member), "not be null")
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise serialization(f"member {member} must be an integer")
        if minimum is not None and value < minimum:
            raise constraint(
                value, self.at(member), f"have value greater than or equal to {minimum}"
            )
        if maximum is not None and value > maximum:
            raise constraint(value, self.at(member), f"have value less than or equal to {maximum}")
        return value

    def blob(self, member: str, value: Any = None) -> bytes:
        """A base64 member (``value`` when reading one inside a list entry)."""
        raw = self.body.get(member) if value is None else value
        if raw is None:
            raise constraint("null", self.at(member), "not be null")
        return decode_blob(raw, member)

    def timestamp(self, member: str) -> float | None:
        """Epoch seconds, as SDKs send times in this protocol (ISO text is taken too)."""
        value = self.body.get(member)
        if value is None:
            return None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            from datetime import datetime

            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
            except ValueError:
                pass
        raise serialization(f"member {member} must be a timestamp")

    def mapping(self, member: str) -> dict[str, Any]:
        value = self.body.get(member)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise serialization(f"member {member} must be a structure")
        return value

    def items(self, member: str) -> list[Any]:
        value = self.body.get(member)
        if value is None:
            return []
        if not isinstance(value, list):
            raise serialization(f"member {member} must be a list")
        return value


def decode_blob(raw: Any, member: str) -> bytes:
    if not isinstance(raw, str):
        raise serialization(f"member {member} must be base64 text")
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise serialization(f"member {member} is not valid base64") from exc


def encode_blob(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
