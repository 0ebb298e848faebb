"""The exactly-once ledger of a delivery stream: its state object, and the one commit order.

Nothing is landed twice or lost, whatever moment the process dies at. A state object
(``_tidebox/sinks/<name>/state.json`` in the destination) says, per shard, where delivery
stands. A flush commits in this order, and only here: first the state with the objects it is
about to write and the state they lead to (``pending``), then the objects (each appears whole
or not at all), then the new state. Only then may Kafka offsets be committed. On restart, a
flush cut short is either completed (all its objects exist: adopt its state) or undone (delete
the ones that exist), and delivery resumes at the recorded offsets.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import orjson

from tidebox.core.errors import TideboxError
from tidebox.core.settings import SinkSpec
from tidebox.core.stores import LocalStore, Store

STATE_ROOT = "_tidebox/sinks"


@dataclass
class ShardProgress:
    """Where delivery of one source shard stands, with its running totals."""

    next_offset: int = 0
    records_in: int = 0
    records_out: int = 0
    records_failed: int = 0
    records_dropped: int = 0
    objects: int = 0
    error_objects: int = 0
    bytes: int = 0

    def plus(self, other: ShardProgress, next_offset: int) -> ShardProgress:
        totals = {k: v + getattr(other, k) for k, v in asdict(self).items()}
        return ShardProgress(**{**totals, "next_offset": next_offset})


class StreamRecreatedError(TideboxError):
    """Delivery recorded offsets past the end of its source: the stream was recreated."""

    def __init__(self, name: str, stream: str, partition: int, recorded: int, end: int) -> None:
        super().__init__(
            f"delivery stream {name}: stream '{stream}' shard {partition} ends at {end}, but "
            f"delivery recorded {recorded}: the stream was recreated. Run 'tidebox sink drop "
            f"{name}' to deliver it afresh"
        )
        self.name = name
        self.partition = partition


def state_key(name: str) -> str:
    """Where delivery stream ``name`` keeps its state, in its destination."""
    return f"{STATE_ROOT}/{name}/state.json"


def read_state(store: Store, key: str) -> dict[str, Any]:
    """The recorded state ({} before the first run).

    S3 reads are ranged: a read that overlaps a rewrite by the running sink can mix two
    versions, so a state that does not parse is read again before it counts as corrupt.
    """
    for attempt in range(5):
        raw = store.get(key)
        if not raw:
            return {}
        try:
            state: dict[str, Any] = orjson.loads(raw)
            return state
        except orjson.JSONDecodeError:
            time.sleep(0.05 * (attempt + 1))
    raise TideboxError(f"{store.uri(key)}: delivery state is not valid JSON")


def shards_of(state: dict[str, Any]) -> dict[int, ShardProgress]:
    """The per-shard progress a state records."""
    return {int(p): ShardProgress(**s) for p, s in state.get("shards", {}).items()}


class Ledger:
    """The state of one delivery stream in its destination, and the order a flush commits in."""

    def __init__(self, spec: SinkSpec, store: Store) -> None:
        self.spec = spec
        self.store = store
        self.version = 1
        self.progress: dict[int, ShardProgress] = {}

    @property
    def key(self) -> str:
        return state_key(self.spec.name)

    def read(self) -> dict[str, Any]:
        return read_state(self.store, self.key)

    def recover(self, folders: Iterable[str]) -> dict[int, int]:
        """Finish or undo a flush cut short, remove half-written files under ``folders``, and
        return where each shard resumes."""
        state = self.read()
        shards = shards_of(state)
        pending = state.get("pending")
        if pending:
            keys = pending["objects"]
            if all(self.store.exists(k) for k in keys):
                shards = shards_of(pending)
            else:
                for key in keys:
                    self.store.delete(key)
        if isinstance(self.store, LocalStore):
            # only this delivery stream's objects: a folder can be shared (the default error
            # prefix starts at the bucket's root), and another stream may be writing there now
            own = re.compile(rf"{re.escape(self.spec.name)}-\d+-\d{{4}}(-\d\d){{5}}-")
            for root in set(folders):
                self.store.remove_temporaries(root, lambda name: own.match(name) is not None)
        self.version = int(state.get("version", 1))
        changed = bool(state) and state.get("config_digest") != self._digest()
        if changed:
            self.version += 1  # as Firehose's version, one more for every change of config
        self.progress = shards
        if pending or not state or changed:
            self._write(shards)
        return {p: s.next_offset for p, s in shards.items()}

    def check_source(self, ends: dict[int, int]) -> None:
        """Refuse to resume past the end of a shard: its stream was deleted and recreated."""
        for partition, progress in self.progress.items():
            end = ends.get(partition, 0)
            if progress.next_offset > end:
                raise StreamRecreatedError(
                    self.spec.name, self.spec.stream, partition, progress.next_offset, end
                )

    def commit(self, objects: Sequence[tuple[str, bytes]], after: dict[int, ShardProgress]) -> None:
        """Write ``objects`` (key, data) and move to the progress ``after``, in the order that
        a restart can complete or undo."""
        if objects:
            pending = {
                "objects": [key for key, _ in objects],
                "shards": {str(p): asdict(s) for p, s in after.items()},
            }
            self._write(self.progress, pending)
            for key, data in objects:
                self.store.put(key, data)
        self._write(after)
        self.progress = after

    def forget(self) -> None:
        """Delete the state: delivery starts afresh."""
        self.store.delete(self.key)
        self.progress = {}

    def _write(self, progress: dict[int, ShardProgress], pending: Any = None) -> None:
        state = {
            "name": self.spec.name,
            "stream": self.spec.stream,
            "version": self.version,
            "config_digest": self._digest(),
            "shards": {str(p): asdict(s) for p, s in sorted(progress.items())},
            "pending": pending,
        }
        self.store.put(self.key, orjson.dumps(state, option=orjson.OPT_INDENT_2))

    def _digest(self) -> str:
        return hashlib.sha256(self.spec.model_dump_json().encode()).hexdigest()[:16]
