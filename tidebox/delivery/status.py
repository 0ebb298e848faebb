"""``tidebox sink status``: what a delivery stream has done, holds and has left to do.

Totals come from the delivery state in the destination (exact: they move only when a flush is
recorded), the buffer from the running process's live file, and the lag from the stream's end
offsets against the offsets delivery has recorded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from tidebox.core.errors import TideboxError
from tidebox.core.settings import Settings, SinkSpec
from tidebox.delivery.ledger import ShardProgress, read_state, shards_of, state_key
from tidebox.delivery.lock import is_running, live_path
from tidebox.delivery.quality import QualitySummary, read_summary
from tidebox.delivery.specs import resolve_sink, sink_store


@dataclass(frozen=True)
class SinkStatus:
    name: str
    stream: str
    destination: str
    running: bool
    pid: int | None
    version: int
    records_in: int
    records_out: int
    records_failed: int
    records_dropped: int
    objects: int
    error_objects: int
    bytes: int
    buffered_records: int
    buffered_bytes: int
    buffer_limit_bytes: int
    lag: int | None  # records in the stream not yet delivered; None when Kafka is not reachable
    quality: QualitySummary | None = None  # the ruleset's checks of the objects, if one is named

    @property
    def buffer_fill(self) -> float:
        return self.buffered_bytes / self.buffer_limit_bytes if self.buffer_limit_bytes else 0.0


def sink_status(settings: Settings, sink: str | SinkSpec) -> SinkStatus:
    """What delivery stream ``sink`` (a spec or a name) has done, holds and has left to do."""
    from tidebox.streams.admin import shard_offsets

    spec = resolve_sink(settings, sink)
    name = spec.name
    # the state only: no transform imported, no jq compiled, so a broken transform file
    # does not hide what was delivered
    store = sink_store(settings, spec)
    state = read_state(store, state_key(name))
    shards = shards_of(state)
    total = ShardProgress()
    for shard in shards.values():
        total = total.plus(shard, 0)
    pid = is_running(settings, name)
    live = {}
    if pid is not None:
        try:
            live = json.loads(live_path(settings, name).read_text())
        except (OSError, ValueError):
            live = {}
    lag: int | None
    try:
        ends = shard_offsets(settings, spec.stream)
        lag = 0
        for partition, (low, high) in ends.items():
            delivered = shards[partition].next_offset if partition in shards else 0
            lag += max(0, high - max(delivered, low))
    except TideboxError:  # the stream is gone, or Kafka does not answer
        lag = None
    return SinkStatus(
        name=name,
        stream=spec.stream,
        destination=store.location,
        running=pid is not None,
        pid=pid if pid and pid > 0 else None,
        version=int(state.get("version", 1)),
        buffered_records=int(live.get("buffered_records", 0)),
        buffered_bytes=int(live.get("buffered_bytes", 0)),
        buffer_limit_bytes=spec.buffer_bytes,
        lag=lag,
        records_in=total.records_in,
        records_out=total.records_out,
        records_failed=total.records_failed,
        records_dropped=total.records_dropped,
        objects=total.objects,
        error_objects=total.error_objects,
        bytes=total.bytes,
        quality=read_summary(store, name),
    )
