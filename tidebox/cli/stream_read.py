"""How ``tidebox stream read`` prints a record: one JSON line with its shard, sequence number,
arrival time, partition key and data (the data as JSON when it is JSON, else as text, else
in base64)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import orjson

from tidebox.streams.reader import StreamRecord
from tidebox.streams.shards import shard_id


def record_line(record: StreamRecord) -> str:
    arrival = datetime.fromtimestamp(record.arrival_ms / 1000, tz=UTC)
    line: dict[str, Any] = {
        "shard": shard_id(record.shard),
        "sequence": str(record.sequence),
        "arrival": arrival.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "key": None if record.key is None else record.key.decode("utf-8", "replace"),
    }
    try:
        text = record.data.decode("utf-8")
    except UnicodeDecodeError:
        line["data_base64"] = base64.b64encode(record.data).decode("ascii")
        return orjson.dumps(line).decode()
    try:
        line["data"] = orjson.loads(text)
    except orjson.JSONDecodeError:
        line["data"] = text
    return orjson.dumps(line).decode()
