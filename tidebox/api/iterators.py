"""Shard iterators: opaque, signed tokens naming a stream, a shard, the next sequence number and
when they were issued. They expire five minutes after issue, as Kinesis' do; every GetRecords
hands back a fresh one. The signing key is kept in the state folder, so an endpoint restarted
within those minutes still honours the iterators it gave out."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tidebox.api.errors import ApiError, invalid_argument

LIFETIME_S = 300.0


@dataclass(frozen=True)
class ShardIterator:
    stream: str
    shard: int
    sequence: int
    issued: float


class IteratorCodec:
    """Encodes iterators and decodes them back, refusing forged, malformed or expired ones."""

    def __init__(self, key_file: Path) -> None:
        key_file.parent.mkdir(parents=True, exist_ok=True)
        if not key_file.exists():
            temporary = key_file.with_suffix(".tmp")
            temporary.write_bytes(secrets.token_bytes(32))
            os.replace(temporary, key_file)
        self._key = key_file.read_bytes()

    def _sign(self, payload: bytes) -> str:
        digest = hmac.new(self._key, payload, hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def encode(self, stream: str, shard: int, sequence: int, issued: float | None = None) -> str:
        stamp = round(time.time() if issued is None else issued, 3)
        payload = json.dumps([stream, shard, sequence, stamp], separators=(",", ":")).encode()
        text = base64.urlsafe_b64encode(payload).decode().rstrip("=")
        return f"{text}.{self._sign(payload)}"

    def decode(self, token: str) -> ShardIterator:
        text, _, signature = token.partition(".")
        fields: list[Any] = []
        try:
            payload = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            if hmac.compare_digest(signature, self._sign(payload)):
                fields = json.loads(payload)
        except (ValueError, TypeError):
            fields = []
        kinds: tuple[Any, ...] = (str, int, int, (int, float))
        if len(fields) != 4 or not all(
            isinstance(f, k) for f, k in zip(fields, kinds, strict=True)
        ):
            raise invalid_argument(f"Invalid ShardIterator: {token[:64]}")
        stream, shard, sequence, issued = fields
        age = time.time() - float(issued)
        if age > LIFETIME_S:
            raise ApiError(
                "ExpiredIteratorException",
                f"Iterator expired. The iterator was created {age:.0f} s ago, longer than the "
                f"tolerated {LIFETIME_S * 1000:.0f} milliseconds.",
            )
        return ShardIterator(stream, int(shard), sequence, float(issued))
