"""Which delivery stream a command means, and opening it: its spec, schema and destination.

A name is a declared delivery stream, the default one of a declared stream, or (for a stream
nobody declared, that Kafka holds or that was delivered before) a default one with its
columns inferred from the records.
"""

from __future__ import annotations

from tidebox.core.errors import KafkaUnavailableError, TideboxError
from tidebox.core.settings import Settings, SinkSpec, StreamSpec, default_sink, is_name
from tidebox.core.stores import Store, open_store
from tidebox.delivery.delivery import DeliveryStream
from tidebox.delivery.ledger import state_key


class SinkNotFoundError(TideboxError):
    """A command names a delivery stream nobody declared, for a stream nobody declared."""

    def __init__(self, name: str, known: list[str]) -> None:
        listing = ", ".join(known) or "none"
        super().__init__(f"unknown delivery stream '{name}' (declared: {listing})")
        self.name = name
        self.known = known


def find_sink(settings: Settings, name: str, probe_kafka: bool = False) -> SinkSpec:
    """A declared delivery stream, the default one of a declared stream, or (for a stream
    nobody declared, that exists in Kafka or was delivered before) a default one with its
    columns inferred from the records."""
    spec = settings.sink(name)
    if spec is not None:
        return spec
    if is_name(name):
        undeclared = default_sink(StreamSpec(name=name))
        delivered = sink_store(settings, undeclared).exists(state_key(name))
        if delivered or (probe_kafka and _stream_exists(settings, name)):
            return undeclared
    raise SinkNotFoundError(name, sorted({s.name for s in settings.sinks}))


def _stream_exists(settings: Settings, name: str) -> bool:
    """Whether Kafka holds a stream of that name (no when Kafka cannot be asked: the name is
    then reported as unknown rather than as a Kafka problem)."""
    from tidebox.streams.admin import list_streams

    try:
        return name in list_streams(settings)
    except KafkaUnavailableError:
        return False


def sink_columns(settings: Settings, spec: SinkSpec) -> dict[str, str]:
    """The schema of a delivery stream: its own columns, or those of the stream or table it
    names (by default its source stream)."""
    if spec.columns:
        return dict(spec.columns)
    source = spec.schema_source
    stream = settings.stream(source)
    if stream is not None and stream.columns:
        return dict(stream.columns)
    table = next((t for t in settings.tables if t.name == source), None)
    if table is not None and table.columns:
        return dict(table.columns)
    if spec.schema_table:
        raise TideboxError(
            f"delivery stream {spec.name}: schema_table '{spec.schema_table}' is no stream or "
            "table with columns"
        )
    return {}


def resolve_sink(settings: Settings, sink: str | SinkSpec, probe_kafka: bool = False) -> SinkSpec:
    """The spec of ``sink``: given, or found by name once (:func:`find_sink`)."""
    return sink if isinstance(sink, SinkSpec) else find_sink(settings, sink, probe_kafka)


def sink_store(settings: Settings, spec: SinkSpec) -> Store:
    """The destination of delivery stream ``spec``: its own, else the bucket."""
    return open_store(spec.destination or str(settings.bucket_path), settings.s3_endpoint)


def open_delivery(settings: Settings, spec: SinkSpec) -> DeliveryStream:
    """The delivery stream ``spec`` bound to its destination, not yet recovered."""
    return DeliveryStream(spec, sink_columns(settings, spec), sink_store(settings, spec))
