"""What the Firehose API keeps about a delivery stream it created, beside its tidebox spec.

The spec is ``<state>/sinks/<name>/spec.json``, as ``tidebox sink create`` keeps one, so every
tidebox command sees the delivery stream. What only the API needs (its type, source, creation
time, the destination as it was given, tags) is ``firehose.json`` in the same folder: a folder
holding both is a delivery stream the endpoint owns, and resumes when it starts.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tidebox.core.settings import Settings, SinkSpec, created_sink_path

DIRECT_PUT = "DirectPut"
KINESIS_SOURCE = "KinesisStreamAsSource"
STREAM_PREFIX = "__firehose-"  # a DirectPut stream's Kafka stream: hidden from stream listings


@dataclass
class DeliveryStreamRecord:
    """A delivery stream created through the API."""

    name: str
    kind: str  # DirectPut | KinesisStreamAsSource
    stream: str  # the Kafka stream it delivers: its own for DirectPut, else the Kinesis one
    created: float  # epoch seconds
    destination: dict[str, Any]  # ExtendedS3DestinationDescription
    source: dict[str, Any] = field(default_factory=dict)  # the source configuration as given
    start_at: dict[int, int] = field(default_factory=dict)  # Kinesis source: ends at creation
    shards: int = 1
    tags: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> DeliveryStreamRecord:
        starts = {int(p): int(o) for p, o in raw.pop("start_at", {}).items()}
        return cls(**raw, start_at=starts)


def direct_put_stream(name: str) -> str:
    """The Kafka stream PutRecord and PutRecordBatch write for delivery stream ``name``."""
    return f"{STREAM_PREFIX}{name}"


def record_path(settings: Settings, name: str) -> Path:
    return created_sink_path(settings.state_dir, name).with_name("firehose.json")


def save_record(settings: Settings, record: DeliveryStreamRecord) -> None:
    """Write ``record`` whole (aside, then renamed over the old one)."""
    path = record_path(settings, record.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(".firehose.json.tmp")
    temporary.write_text(json.dumps(asdict(record), indent=2))
    os.replace(temporary, path)


def owned(settings: Settings) -> list[tuple[DeliveryStreamRecord, SinkSpec]]:
    """The delivery streams the API created under this state folder, with their specs; one
    whose spec was deleted (``tidebox sink delete``) or cannot be read is left out."""
    found = []
    for path in sorted((settings.state_dir / "sinks").glob("*/firehose.json")):
        spec_path = path.with_name("spec.json")
        try:
            record = DeliveryStreamRecord.parse(json.loads(path.read_text()))
            spec = SinkSpec.model_validate_json(spec_path.read_text())
        except (OSError, ValueError, TypeError):
            continue
        found.append((record, spec))
    return found


def forget_record(settings: Settings, name: str) -> None:
    """Remove what the API kept of delivery stream ``name`` (its spec goes separately)."""
    folder = record_path(settings, name).parent
    for leftover in ("firehose.json", "live.json", "lock"):
        (folder / leftover).unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # something else lives there: leave it
        folder.rmdir()
