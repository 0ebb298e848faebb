"""Building a delivery's objects from one shard's buffer: transform, convert, partition, encode.

A buffer becomes one data object per evaluated prefix (Parquet, or the records one per line)
and one error object per error output type. Object names carry the delivery stream, its
version, the oldest arrival, the source shard and the offset range, so a buffer built again
names the same objects.
"""

from __future__ import annotations

import gzip
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tidebox.core.settings import SinkSpec
from tidebox.delivery.buffers import Buffer
from tidebox.delivery.convert import Converter, InferringConverter, arrow_schema
from tidebox.delivery.error_documents import (
    FORMAT_CONVERSION_FAILED,
    PARTITIONING_FAILED,
    PARTITIONS_EXCEEDED,
    PROCESSING_FAILED,
    Failure,
    by_type,
    render_error_documents,
)
from tidebox.delivery.ledger import ShardProgress
from tidebox.delivery.prefix import DEFAULT_ERROR_PREFIX as _DEFAULT_ERROR_PREFIX
from tidebox.delivery.prefix import (
    PartitionValueError,
    effective_prefix,
    parse_prefix,
    safe_partition_value,
)

EXTRACTION_FAILED = "DynamicPartitioning.MetadataExtractionFailed"
LIMIT_EXCEEDED = "DynamicPartitioning.ActivePartitionsLimitExceeded"
_SCALARS = (str, int, float, bool, type(None))
_PARQUET_CODECS = {"SNAPPY": "snappy", "GZIP": "gzip", "ZSTD": "zstd", "UNCOMPRESSED": "none"}

Built = list[tuple["DeliveredObject", bytes]]


@dataclass(frozen=True)
class DeliveredObject:
    key: str
    kind: str  # "data" | "error"
    partition: int
    first_offset: int
    last_offset: int
    rows: int
    bytes: int


def own_objects(name: str) -> re.Pattern[str]:
    """Matches the file names of the objects delivery stream ``name`` writes."""
    return re.compile(re.escape(name) + r"-\d+-(\d{2,4}-){6}\d{4}-\d{12}-\d{12}")


class ObjectBuilder:
    """A delivery stream's compiled options: prefixes, conversion, partition keys, transform."""

    def __init__(self, spec: SinkSpec, columns: dict[str, str]) -> None:
        self.spec = spec
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

    def build(self, partition: int, buffer: Buffer, version: int) -> tuple[Built, ShardProgress]:
        """The objects of one shard's buffer, and the totals they add to its progress."""
        failures: list[Failure] = []
        delta = ShardProgress(records_in=len(buffer.values))
        keep, values, lambda_keys = self.transform(buffer, failures, delta)

        table: pa.Table | None = None
        rows = list(range(len(values)))
        if self.converter is not None:
            conversion = self.converter.convert(values)
            table, rows = conversion.table, conversion.rows
            for j, code, message in conversion.failed:
                failures.append(
                    Failure(keep[j], FORMAT_CONVERSION_FAILED, code, message, values[j])
                )

        groups = self.group(partition, buffer, keep, values, rows, lambda_keys, failures)
        built: Built = []
        for prefix, members in groups.items():  # members: positions in ``rows``
            originals = [keep[rows[m]] for m in members]
            data = self.encode(table, members, [values[rows[m]] for m in members])
            obj = self.name_object(prefix, "data", partition, buffer, originals, data, version)
            built.append((obj, data))
            delta.records_out += len(members)
            delta.objects += 1
            delta.bytes += len(data)
        for output_type, items in by_type(failures).items():
            data = render_error_documents(self.spec, buffer, items)
            originals = [f.index for f in items]
            oldest = min(buffer.arrivals[i] for i in originals)
            seed = f"{self.name}/{partition}/{buffer.offsets[originals[0]]}/{output_type}"
            prefix = self.error_prefix.render(oldest, seed, error_type=output_type)
            obj = self.name_object(prefix, "error", partition, buffer, originals, data, version)
            built.append((obj, data))
            delta.records_failed += len(items)
            delta.error_objects += 1
        return built, delta

    def transform(
        self, buffer: Buffer, failures: list[Failure], delta: ShardProgress
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
                    Failure(
                        i,
                        PROCESSING_FAILED,
                        outcome.error_code,
                        outcome.error_message,
                        raw,
                        outcome.attempts,
                    )
                )
        return keep, values, keys

    def group(
        self,
        partition: int,
        buffer: Buffer,
        keep: list[int],
        values: list[bytes],
        rows: list[int],
        lambda_keys: list[dict[str, Any]] | None,
        failures: list[Failure],
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
                        Failure(keep[j], PARTITIONS_EXCEEDED, LIMIT_EXCEEDED, message, values[j])
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
                Failure(keep[j], PARTITIONING_FAILED, EXTRACTION_FAILED, problem, values[j])
            )
        return {p: sorted(m) for p, m in groups.items()}

    def encode(self, table: pa.Table | None, members: list[int], values: list[bytes]) -> bytes:
        """A data object's bytes: the rows ``members`` of ``table`` as Parquet, or (no format
        conversion) the records one per line, as Firehose joins them."""
        compression = self.spec.compression
        if table is None:
            data = b"".join(v if v.endswith(b"\n") else v + b"\n" for v in values)
            return gzip.compress(data, mtime=0) if compression == "GZIP" else data
        out = pa.BufferOutputStream()
        subset = table.take(pa.array(members, type=pa.int64()))
        pq.write_table(subset, out, compression=_PARQUET_CODECS[compression or "SNAPPY"])
        return bytes(out.getvalue().to_pybytes())

    def name_object(
        self,
        prefix: str,
        kind: str,
        partition: int,
        buffer: Buffer,
        originals: list[int],
        data: bytes,
        version: int,
    ) -> DeliveredObject:
        """The object holding the records ``originals`` of ``buffer``, named as Firehose names
        its objects, with the shard and offset range."""
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
            f"{prefix}{self.name}-{version}-{stamp}-"
            f"{partition:04d}-{first:012d}-{last:012d}{extension}"
        )
        return DeliveredObject(key, kind, partition, first, last, len(originals), len(data))
