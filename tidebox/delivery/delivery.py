"""A delivery stream: records buffered per source shard and delivered as whole objects.

The sink contract follows Quix Streams': :meth:`DeliveryStream.add` per record, and
:meth:`DeliveryStream.flush` when a buffer is due (Firehose's buffering hints) or at shutdown.
A flush of a shard runs the transform, converts to Parquet, splits by partition keys, and
writes one object per evaluated prefix and one per error output type.

Nothing is landed twice or lost, whatever moment the process dies at. A state object
(``_tidebox/sinks/<name>/state.json`` in the destination) says, per shard, where delivery
stands. A flush first records which objects it is about to write and the state they lead to,
then writes them (each appears whole or not at all), then records the new state; only then are
Kafka offsets committed. On restart, a flush cut short is either completed (all its objects
exist: adopt its state) or undone (delete the ones that exist), and delivery resumes at the
recorded offsets. Object names carry the source shard and offset range, so a flush delivered
again names the same objects.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import re
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from tidebox.core.errors import TideboxError
from tidebox.core.settings import SinkSpec
from tidebox.core.stores import LocalStore, Store
from tidebox.delivery.convert import Converter, InferringConverter, arrow_schema
from tidebox.delivery.prefix import DEFAULT_ERROR_PREFIX as _DEFAULT_ERROR_PREFIX
from tidebox.delivery.prefix import (
    PartitionValueError,
    Prefix,
    effective_prefix,
    parse_prefix,
    safe_partition_value,
)

STATE_ROOT = "_tidebox/sinks"
EXTRACTION_FAILED = "DynamicPartitioning.MetadataExtractionFailed"
LIMIT_EXCEEDED = "DynamicPartitioning.ActivePartitionsLimitExceeded"
_SCALARS = (str, int, float, bool, type(None))
_PARQUET_CODECS = {"SNAPPY": "snappy", "GZIP": "gzip", "ZSTD": "zstd", "UNCOMPRESSED": "none"}


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


@dataclass(frozen=True)
class DeliveredObject:
    key: str
    kind: str  # "data" | "error"
    partition: int
    first_offset: int
    last_offset: int
    rows: int
    bytes: int


@dataclass
class _Buffer:
    values: list[bytes] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)
    arrivals: list[int] = field(default_factory=list)
    size: int = 0
    opened: float = 0.0


@dataclass
class _Failure:
    index: int  # position in the shard's buffer
    output_type: str
    code: str
    message: str
    raw: bytes
    attempts: int = 1


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


class DeliveryStream:
    """One delivery stream at work: its buffers, its compiled options and its state."""

    def __init__(self, spec: SinkSpec, columns: dict[str, str], store: Store) -> None:
        self.spec = spec
        self.store = store
        self.name = spec.name
        dynamic = spec.dynamic_partitioning
        query_keys = tuple(dynamic.partition_keys) if dynamic else ()
        self.prefix = parse_prefix(
            effective_prefix(spec.prefix, dynamic is not None or spec.processor is not None),
            keys=query_keys,
        )
        self.error_prefix = parse_prefix(
            spec.error_output_prefix or _DEFAULT_ERROR_PREFIX, error_output=True
        )
        self.converter: Converter | InferringConverter | None = None
        if spec.output_format == "parquet":
            self.converter = (
                Converter(arrow_schema(columns), spec.case_insensitive)
                if columns
                else InferringConverter()
            )
        self.extractor = None
        if dynamic and dynamic.partition_keys:
            from tidebox.delivery.partitioning import KeyExtractor

            self.extractor = KeyExtractor(dynamic.partition_keys)
        self.transformer = None
        if spec.processor is not None:
            from tidebox.delivery.transform import Transformer

            self.transformer = Transformer(
                spec.processor.function, spec.name, spec.processor.number_of_retries
            )
        self.buffer_bytes = spec.buffer_bytes
        self.interval = float(spec.buffering_hints.interval_in_seconds)
        self.version = 1
        self.progress: dict[int, ShardProgress] = {}
        self._buffers: dict[int, _Buffer] = defaultdict(_Buffer)
        self.delivered: list[DeliveredObject] = []

    # -- state ---------------------------------------------------------------------------------
    @property
    def state_key(self) -> str:
        return f"{STATE_ROOT}/{self.name}/state.json"

    def read_state(self) -> dict[str, Any]:
        """The recorded state ({} before the first run).

        S3 reads are ranged: a read that overlaps a rewrite by the running sink can mix two
        versions, so a state that does not parse is read again before it counts as corrupt.
        """
        for attempt in range(5):
            raw = self.store.get(self.state_key)
            if not raw:
                return {}
            try:
                state: dict[str, Any] = orjson.loads(raw)
                return state
            except orjson.JSONDecodeError:
                time.sleep(0.05 * (attempt + 1))
        raise TideboxError(f"{self.store.uri(self.state_key)}: delivery state is not valid JSON")

    def _write_state(self, progress: dict[int, ShardProgress], pending: Any = None) -> None:
        state = {
            "name": self.name,
            "stream": self.spec.stream,
            "version": self.version,
            "config_digest": self._digest(),
            "shards": {str(p): asdict(s) for p, s in sorted(progress.items())},
            "pending": pending,
        }
        self.store.put(self.state_key, orjson.dumps(state, option=orjson.OPT_INDENT_2))

    def _digest(self) -> str:
        return hashlib.sha256(self.spec.model_dump_json().encode()).hexdigest()[:16]

    def recover(self) -> dict[int, int]:
        """Finish or undo a flush cut short, and return where each shard resumes."""
        state = self.read_state()
        shards = {int(p): ShardProgress(**s) for p, s in state.get("shards", {}).items()}
        pending = state.get("pending")
        if pending:
            keys = pending["objects"]
            if all(self.store.exists(k) for k in keys):
                shards = {int(p): ShardProgress(**s) for p, s in pending["shards"].items()}
            else:
                for key in keys:
                    self.store.delete(key)
        if isinstance(self.store, LocalStore):
            for root in {self.prefix.folder, self.error_prefix.folder}:
                self.store.remove_temporaries(root)
        self.version = int(state.get("version", 1))
        if state and state.get("config_digest") != self._digest():
            self.version += 1  # as Firehose's version, one more for every change of config
        self.progress = shards
        if pending or not state or state.get("config_digest") != self._digest():
            self._write_state(shards)
        return {p: s.next_offset for p, s in shards.items()}

    def check_source(self, ends: dict[int, int]) -> None:
        """Refuse to resume past the end of a shard: its stream was deleted and recreated."""
        for partition, progress in self.progress.items():
            end = ends.get(partition, 0)
            if progress.next_offset > end:
                raise StreamRecreatedError(
                    self.name, self.spec.stream, partition, progress.next_offset, end
                )

    # -- the sink contract ---------------------------------------------------------------------
    def add(self, value: bytes, partition: int, offset: int, timestamp_ms: int) -> None:
        """Buffer one record of shard ``partition``."""
        self.add_many(partition, [value], [offset], [timestamp_ms])

    def add_many(
        self, partition: int, values: list[bytes], offsets: list[int], arrivals: list[int]
    ) -> None:
        """:meth:`add` for a run of records of one shard, in offset order: what a consumer's
        batch gives (the runner's path), at a fraction of the per-record cost."""
        if not values:
            return
        buffer = self._buffers[partition]
        if not buffer.values:
            buffer.opened = time.monotonic()
        buffer.values.extend(values)
        buffer.offsets.extend(offsets)
        buffer.arrivals.extend(arrivals)
        buffer.size += sum(map(len, values))

    def due(self, now: float | None = None) -> list[int]:
        """The shards whose buffer has reached the size or the interval hint."""
        now = time.monotonic() if now is None else now
        return [
            p
            for p, b in self._buffers.items()
            if b.values and (b.size >= self.buffer_bytes or now - b.opened >= self.interval)
        ]

    @property
    def buffered_records(self) -> int:
        return sum(len(b.values) for b in self._buffers.values())

    @property
    def buffered_bytes(self) -> int:
        return sum(b.size for b in self._buffers.values())

    def flush(
        self,
        partitions: list[int] | None = None,
        positions: dict[int, int] | None = None,
        final: bool = True,
    ) -> dict[int, int]:
        """Deliver the buffers of ``partitions`` (all by default); return their next offsets.

        A buffer larger than the size hint becomes several objects, each cut where its records
        reach the hint. Unless ``final`` or its interval has passed, the rest of a buffer (below
        the hint) stays buffered. ``positions`` are the consumer's positions: past the last
        record when the stream holds transaction markers, which need not be read again.
        """
        now = time.monotonic()
        after = dict(self.progress)
        objects: list[tuple[DeliveredObject, bytes]] = []
        delivered: dict[int, int] = {}
        for partition in partitions or list(self._buffers):
            buffer = self._buffers.get(partition)
            if buffer is None or not buffer.values:
                continue
            whole = final or now - buffer.opened >= self.interval
            chunks, rest = self._cut(buffer, whole)
            if not chunks:
                continue
            progress = after.get(partition, ShardProgress())
            for chunk in chunks:
                built, delta = self._build(partition, chunk)
                objects.extend(built)
                progress = progress.plus(delta, chunk.offsets[-1] + 1)
            if rest is None:
                position = (positions or {}).get(partition, 0)
                progress.next_offset = max(progress.next_offset, position)
            after[partition] = progress
            delivered[partition] = progress.next_offset
            if rest is None:
                del self._buffers[partition]
            else:
                self._buffers[partition] = rest
        if not delivered:
            return {}
        if objects:
            pending = {
                "objects": [o.key for o, _ in objects],
                "shards": {str(p): asdict(s) for p, s in after.items()},
            }
            self._write_state(self.progress, pending)
            for obj, data in objects:
                self.store.put(obj.key, data)
        self._write_state(after)
        self.progress = after
        self.delivered.extend(o for o, _ in objects)
        return delivered

    def _cut(self, buffer: _Buffer, whole: bool) -> tuple[list[_Buffer], _Buffer | None]:
        """Slices of ``buffer`` that reach the size hint, and what is left (None if nothing)."""
        chunks: list[_Buffer] = []
        start, size = 0, 0
        for i, value in enumerate(buffer.values):
            size += len(value)
            if size >= self.buffer_bytes:
                chunks.append(_slice(buffer, start, i + 1, size))
                start, size = i + 1, 0
        rest = (
            _slice(buffer, start, len(buffer.values), size) if start < len(buffer.values) else None
        )
        if whole and rest is not None:
            chunks.append(rest)
            rest = None
        return chunks, rest

    # -- one shard's flush -----------------------------------------------------------------------
    def _build(
        self, partition: int, buffer: _Buffer
    ) -> tuple[list[tuple[DeliveredObject, bytes]], ShardProgress]:
        failures: list[_Failure] = []
        delta = ShardProgress(records_in=len(buffer.values))
        keep, values, lambda_keys = self._transform(buffer, failures, delta)

        table: pa.Table | None = None
        rows = list(range(len(values)))
        if self.converter is not None:
            conversion = self.converter.convert(values)
            table, rows = conversion.table, conversion.rows
            for j, code, message in conversion.failed:
                failures.append(
                    _Failure(keep[j], "format-conversion-failed", code, message, values[j])
                )

        groups = self._group(partition, buffer, keep, values, rows, lambda_keys, failures)
        built: list[tuple[DeliveredObject, bytes]] = []
        for prefix, members in groups.items():  # members: positions in ``rows``
            originals = [keep[rows[m]] for m in members]
            data = self._encode(table, members, [values[rows[m]] for m in members])
            obj = self._object(prefix, "data", partition, buffer, originals, data)
            built.append((obj, data))
            delta.records_out += len(members)
            delta.objects += 1
            delta.bytes += len(data)
        for output_type, items in _by_type(failures).items():
            data = self._error_documents(partition, buffer, items)
            originals = [f.index for f in items]
            oldest = min(buffer.arrivals[i] for i in originals)
            seed = f"{self.name}/{partition}/{buffer.offsets[originals[0]]}/{output_type}"
            prefix = self.error_prefix.render(oldest, seed, error_type=output_type)
            obj = self._object(prefix, "error", partition, buffer, originals, data)
            built.append((obj, data))
            delta.records_failed += len(items)
            delta.error_objects += 1
        return built, delta

    def _transform(
        self, buffer: _Buffer, failures: list[_Failure], delta: ShardProgress
    ) -> tuple[list[int], list[bytes], list[dict[str, Any]] | None]:
        """Positions kept, their (transformed) values, and the keys the transform returned."""
        if self.transformer is None or self.spec.processor is None:
            return list(range(len(buffer.values))), buffer.values, None
        limit = int(self.spec.processor.buffer_size_in_mbs * 1024 * 1024)
        outcomes = []
        start = 0
        while start < len(buffer.values):
            end, size = start, 0
            while end < len(buffer.values) and (
                end == start or size + len(buffer.values[end]) <= limit
            ):
                size += len(buffer.values[end])
                end += 1
            outcomes.extend(
                self.transformer.transform(buffer.values[start:end], buffer.arrivals[start:end])
            )
            start = end
        keep, values, keys = [], [], []
        for i, outcome in enumerate(outcomes):
            if outcome.result == "Ok":
                keep.append(i)
                values.append(outcome.data)
                keys.append(outcome.partition_keys)
            elif outcome.result == "Dropped":
                delta.records_dropped += 1
            else:
                raw = outcome.data or buffer.values[i]
                failures.append(
                    _Failure(
                        i,
                        "processing-failed",
                        outcome.error_code,
                        outcome.error_message,
                        raw,
                        outcome.attempts,
                    )
                )
        return keep, values, keys

    def _group(
        self,
        partition: int,
        buffer: _Buffer,
        keep: list[int],
        values: list[bytes],
        rows: list[int],
        lambda_keys: list[dict[str, Any]] | None,
        failures: list[_Failure],
    ) -> dict[str, list[int]]:
        """Evaluated prefix -> positions in ``rows`` of the records delivered under it."""
        names = [("partitionKeyFromQuery", n) for n in self.prefix.keys("partitionKeyFromQuery")]
        names += [("partitionKeyFromLambda", n) for n in self.prefix.keys("partitionKeyFromLambda")]
        columns: list[list[Any]] = []
        problems: dict[int, str] = {}
        if self.extractor is not None:
            extracted = self.extractor.extract([values[j] for j in rows])
            problems.update(extracted.problems)
            columns += [extracted.columns[n] for ns, n in names if ns == "partitionKeyFromQuery"]
        for ns, n in names:
            if ns == "partitionKeyFromLambda":
                given = [(lambda_keys[j] if lambda_keys else {}).get(n) for j in rows]
                columns.append([v if isinstance(v, _SCALARS) else repr(v) for v in given])
        by_key: dict[tuple[Any, ...], list[int]] = {}
        for position, signature in enumerate(zip(*columns, strict=True) if columns else ()):
            if position not in problems:
                by_key.setdefault(signature, []).append(position)
        if not columns:
            by_key = {(): [p for p in range(len(rows)) if p not in problems]} if rows else {}
        dynamic = self.spec.dynamic_partitioning
        limit = dynamic.active_partition_limit if dynamic else None
        groups: dict[str, list[int]] = {}
        for index, (signature, members) in enumerate(by_key.items()):
            keys: dict[str, dict[str, str]] = defaultdict(dict)
            try:
                for (namespace, key), value in zip(names, signature, strict=True):
                    keys[namespace][key] = safe_partition_value(key, value)
            except PartitionValueError as exc:
                problems.update(dict.fromkeys(members, str(exc)))
                continue
            if limit is not None and index >= limit:
                message = f"more than {limit} active partitions in one delivery"
                for position in members:
                    j = rows[position]
                    failures.append(
                        _Failure(
                            keep[j], "activePartitionExceeded", LIMIT_EXCEEDED, message, values[j]
                        )
                    )
                continue
            originals = [keep[rows[m]] for m in members]
            oldest = min(buffer.arrivals[i] for i in originals)
            seed = f"{self.name}/{partition}/{buffer.offsets[originals[0]]}"
            prefix = self.prefix.render(oldest, seed, keys)
            groups.setdefault(prefix, []).extend(members)
        for position, problem in problems.items():
            j = rows[position]
            failures.append(
                _Failure(
                    keep[j], "dynamic-partitioning-failed", EXTRACTION_FAILED, problem, values[j]
                )
            )
        return {p: sorted(m) for p, m in groups.items()}

    def _encode(self, table: pa.Table | None, members: list[int], values: list[bytes]) -> bytes:
        compression = self.spec.compression
        if table is None:  # no format conversion: the records, one per line, as Firehose joins
            data = b"".join(v if v.endswith(b"\n") else v + b"\n" for v in values)
            return gzip.compress(data, mtime=0) if compression == "GZIP" else data
        out = pa.BufferOutputStream()
        subset = table.take(pa.array(members, type=pa.int64()))
        pq.write_table(subset, out, compression=_PARQUET_CODECS[compression or "SNAPPY"])
        return bytes(out.getvalue().to_pybytes())

    def _object(
        self,
        prefix: str,
        kind: str,
        partition: int,
        buffer: _Buffer,
        originals: list[int],
        data: bytes,
    ) -> DeliveredObject:
        offsets = [buffer.offsets[i] for i in originals]
        oldest = min(buffer.arrivals[i] for i in originals)
        stamp = datetime.fromtimestamp(oldest / 1000, UTC).strftime("%Y-%m-%d-%H-%M-%S")
        first, last = min(offsets), max(offsets)
        if kind == "error":
            extension = ""
        elif self.converter is not None:
            extension = ".parquet"
        else:
            extension = ".gz" if self.spec.compression == "GZIP" else ""
        key = (
            f"{prefix}{self.name}-{self.version}-{stamp}-"
            f"{partition:04d}-{first:012d}-{last:012d}{extension}"
        )
        return DeliveredObject(key, kind, partition, first, last, len(originals), len(data))

    def _error_documents(self, partition: int, buffer: _Buffer, items: list[_Failure]) -> bytes:
        now = int(time.time() * 1000)
        lines = []
        for failure in sorted(items, key=lambda f: f.index):
            lines.append(
                orjson.dumps(
                    {
                        "attemptsMade": failure.attempts,
                        "arrivalTimestamp": buffer.arrivals[failure.index],
                        "errorCode": failure.code,
                        "errorMessage": failure.message,
                        "attemptEndingTimestamp": now,
                        "rawData": base64.b64encode(failure.raw).decode("ascii"),
                        "kafkaTopic": self.spec.stream,
                        "kafkaPartition": partition,
                        "kafkaOffset": buffer.offsets[failure.index],
                    }
                )
            )
        return b"\n".join(lines) + b"\n"

    # -- forgetting ------------------------------------------------------------------------------
    def drop(self) -> int:
        """Delete every object this delivery stream wrote, and its state; return how many."""
        removed = 0
        own = re.compile(re.escape(self.name) + r"-\d+-(\d{2,4}-){6}\d{4}-\d{12}-\d{12}")
        for root in {self.prefix.folder, self.error_prefix.folder}:
            for key, _ in self.store.list(root):
                if own.match(key.rsplit("/", 1)[-1]):
                    self.store.delete(key)
                    removed += 1
        self.store.delete(self.state_key)
        self.progress = {}
        return removed


def _slice(buffer: _Buffer, start: int, end: int, size: int) -> _Buffer:
    return _Buffer(
        buffer.values[start:end],
        buffer.offsets[start:end],
        buffer.arrivals[start:end],
        size,
        buffer.opened,
    )


def _by_type(failures: list[_Failure]) -> dict[str, list[_Failure]]:
    grouped: dict[str, list[_Failure]] = defaultdict(list)
    for failure in sorted(failures, key=lambda f: f.index):
        grouped[failure.output_type].append(failure)
    return dict(grouped)


__all__ = ["DeliveredObject", "DeliveryStream", "Prefix", "ShardProgress"]
