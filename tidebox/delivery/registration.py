"""A delivery stream's table in the catalog: registered when it starts, partitions as it
delivers them, as Firehose's destination table is kept current by Glue."""

from __future__ import annotations

from tidebox.core.settings import Settings
from tidebox.delivery.convert import Converter
from tidebox.delivery.delivery import DeliveryStream
from tidebox.delivery.objects import DeliveredObject
from tidebox.lake.catalog import discover_partitions, using_catalog
from tidebox.lake.catalog_store import CatalogTable
from tidebox.lake.glue_types import arrow_glue_type


def delivery_table(delivery: DeliveryStream) -> CatalogTable:
    """The catalog table a delivery stream writes: under the fixed start of its prefix, with
    its Hive-style ``k=...`` folders as partition keys (none if its prefix has other folders)."""
    static = delivery.prefix.folder
    dynamic = delivery.prefix.text[len(static) :]
    segments = [s for s in dynamic.split("/") if s]
    names = [s.split("=", 1)[0] for s in segments]
    hive = bool(segments) and all(
        "=" in s and "!{" not in n for s, n in zip(segments, names, strict=True)
    )
    columns = delivery.converter.schema if isinstance(delivery.converter, Converter) else None
    return CatalogTable(
        name=delivery.name,
        location=delivery.store.uri(static).rstrip("/") + "/",
        format=delivery.spec.output_format,
        columns=tuple((f.name, arrow_glue_type(f.type)) for f in columns) if columns else (),
        partition_keys=tuple((n, "string") for n in names) if hive else (),
        source="delivery",
        parameters={"delivery_stream": delivery.name, "prefix": delivery.prefix.text},
    )


def register_table(settings: Settings, delivery: DeliveryStream) -> None:
    """Register the delivery stream's table, and the partitions already delivered."""
    with using_catalog(settings) as catalog:
        table = delivery_table(delivery)
        existing = catalog.find(table.name)
        if existing is not None and existing.source != "delivery":
            return  # a table of that name from elsewhere stays; the delivery still writes
        catalog.put(table)
        discover_partitions(settings, catalog, table)


def register_partitions(
    settings: Settings, delivery: DeliveryStream, objects: list[DeliveredObject]
) -> None:
    """Register the partitions of newly delivered objects, as the delivery writes them."""
    table = delivery_table(delivery)
    if not table.partition_keys:
        return
    static = delivery.prefix.folder
    depth = len(table.partition_keys)
    specs = sorted(
        {"/".join(o.key[len(static) :].split("/")[:depth]) for o in objects if o.kind == "data"}
    )
    with using_catalog(settings, declared=False) as catalog:  # registered at start already
        if catalog.find(table.name) is not None:
            catalog.add_partitions(table.name, specs)
