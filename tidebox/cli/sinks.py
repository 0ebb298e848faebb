"""``tidebox sink``: delivery streams (Firehose to S3): create, list, run, status, drop."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from tidebox.cli.console import err, out, progress_bar, settings_of
from tidebox.core.errors import TideboxError

sink_app = typer.Typer(help="Delivery streams: land streams as Parquet, as Firehose does to S3.")


@sink_app.command("create")
def sink_create(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Name of the new delivery stream."),
    stream: str = typer.Option(..., "--stream", help="Source stream."),
    destination: str | None = typer.Option(
        None, "--destination", help="A folder or s3://bucket/path (default: the bucket)."
    ),
    schema_table: str | None = typer.Option(
        None, "--schema-table", help="Stream or table whose columns are the schema."
    ),
    prefix: str | None = typer.Option(None, "--prefix", help="Firehose Prefix."),
    error_prefix: str | None = typer.Option(
        None, "--error-output-prefix", help="Firehose ErrorOutputPrefix."
    ),
    size_mb: int | None = typer.Option(None, "--size-mb", help="SizeInMBs buffering hint."),
    size_bytes: int | None = typer.Option(
        None, "--size-bytes", help="Sandbox override of the size hint, in bytes."
    ),
    interval: int | None = typer.Option(
        None, "--interval", help="IntervalInSeconds buffering hint (0-900)."
    ),
    output_format: str = typer.Option("parquet", "--format", help="parquet or json."),
    compression: str | None = typer.Option(
        None, "--compression", help="SNAPPY (default), GZIP, ZSTD or UNCOMPRESSED."
    ),
    partition_key: list[str] = typer.Option(
        [], "--partition-key", help="NAME=JQ, a dynamic partitioning key (repeatable)."
    ),
    partition_limit: int | None = typer.Option(
        None, "--active-partition-limit", help="Active partitions before activePartitionExceeded."
    ),
    processor: str | None = typer.Option(
        None, "--processor", help="Transform: module:function or file.py:function."
    ),
    case_sensitive: bool = typer.Option(
        False, "--case-sensitive", help="JSON keys must match column names exactly."
    ),
) -> None:
    """Create a delivery stream (kept under the state folder; tidebox.yaml declares others)."""
    from pydantic import ValidationError

    from tidebox.core.settings import SinkSpec
    from tidebox.delivery.registry import create_sink

    spec: dict[str, Any] = {
        "name": name,
        "stream": stream,
        "destination": destination,
        "schema_table": schema_table,
        "prefix": prefix,
        "error_output_prefix": error_prefix,
        "output_format": output_format,
        "compression": compression.upper() if compression else None,
        "case_insensitive": not case_sensitive,
    }
    hints = {"size_in_mbs": size_mb, "size_in_bytes": size_bytes, "interval_in_seconds": interval}
    spec["buffering_hints"] = {k: v for k, v in hints.items() if v is not None}
    if partition_key:
        keys = {}
        for item in partition_key:
            key, sep, expression = item.partition("=")
            if not sep or not key:
                raise TideboxError(f"--partition-key '{item}': expected NAME=JQ")
            keys[key] = expression
        spec["dynamic_partitioning"] = {"partition_keys": keys}
        if partition_limit is not None:
            spec["dynamic_partitioning"]["active_partition_limit"] = partition_limit
    if processor:
        spec["processor"] = {"function": processor}
    try:
        parsed = SinkSpec(**{k: v for k, v in spec.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise TideboxError(f"sink create {name}: {where}: {first['msg']}") from exc
    create_sink(settings_of(ctx), parsed)
    out.print(f"created delivery stream {name} ({stream} -> {destination or 'the bucket'})")


@sink_app.command("list")
def sink_list(ctx: typer.Context) -> None:
    """The delivery streams: declared, built in and created."""
    from tidebox.core.settings import created_sink_path
    from tidebox.delivery.lock import is_running

    settings = settings_of(ctx)
    table = Table("name", "stream", "destination", "prefix", "origin", "running")
    for spec in settings.sinks:
        created = created_sink_path(settings.state_dir, spec.name).exists()
        pid = is_running(settings, spec.name)
        table.add_row(
            spec.name,
            spec.stream,
            spec.destination or str(settings.bucket_path),
            spec.prefix or "(yyyy/MM/dd/HH/)",
            "created" if created else "declared",
            f"pid {pid}" if pid else "",
        )
    out.print(table)


@sink_app.command("delete")
def sink_delete(ctx: typer.Context, name: str = typer.Argument(...)) -> None:
    """Forget a created delivery stream; what it delivered stays (see 'sink drop')."""
    from tidebox.delivery.registry import delete_sink

    delete_sink(settings_of(ctx), name)
    out.print(f"deleted delivery stream {name}")


@sink_app.command("run")
def sink_run(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="A delivery stream, or a declared stream's name."),
    until_caught_up: bool = typer.Option(
        False, "--until-caught-up", help="Stop once the records present at start are delivered."
    ),
) -> None:
    """Run a delivery stream until Ctrl-C / SIGTERM (which deliver the buffers first)."""
    from tidebox.delivery.runner import run_sink

    settings = settings_of(ctx)
    with progress_bar("records") as bar:
        task = bar.add_task(f"sink {name}", total=None)
        result = run_sink(settings, name, until_caught_up, lambda n: bar.advance(task, n))
    files = len(result.files)
    out.print(
        f"delivered {result.records_out:,} of {result.records_in:,} records from "
        f"{result.stream} in {files} object(s) ({result.seconds:.1f} s)"
        + (f", {result.records_failed:,} to the error output" if result.records_failed else "")
        + (
            f", {result.records_dropped:,} dropped by the transform"
            if result.records_dropped
            else ""
        )
    )


@sink_app.command("status")
def sink_status_command(ctx: typer.Context, name: str = typer.Argument(...)) -> None:
    """Records in/out/failed, objects, bytes, buffer fill and lag of a delivery stream."""
    from tidebox.delivery.status import sink_status

    status = sink_status(settings_of(ctx), name)
    table = Table("", "", show_header=False)
    table.add_row("delivery stream", f"{status.name} (version {status.version})")
    table.add_row("source", status.stream)
    table.add_row("destination", status.destination)
    table.add_row("state", f"running (pid {status.pid})" if status.running else "not running")
    table.add_row("records in", f"{status.records_in:,}")
    table.add_row("records out", f"{status.records_out:,}")
    table.add_row("records failed", f"{status.records_failed:,}")
    table.add_row("records dropped", f"{status.records_dropped:,}")
    table.add_row("objects", f"{status.objects:,} (+ {status.error_objects:,} error objects)")
    table.add_row("bytes", f"{status.bytes:,}")
    table.add_row(
        "buffer",
        f"{status.buffered_records:,} records, {status.buffered_bytes:,} of "
        f"{status.buffer_limit_bytes:,} bytes ({status.buffer_fill:.0%})",
    )
    table.add_row("lag", "unknown (Kafka unreachable)" if status.lag is None else f"{status.lag:,}")
    quality = status.quality
    if quality is not None:
        table.add_row(
            "quality",
            f"ruleset {quality.ruleset}: {quality.checked:,} objects checked, {quality.passed:,} "
            f"passed, {quality.failed:,} failed, {quality.errors:,} errors",
        )
        if quality.latest is not None:
            latest = quality.latest
            score = f" {latest.rules_passed}/{latest.rules} (score {latest.score:.2f})"
            text = f"{latest.key}: {latest.result}{score if latest.rules else ''}"
            table.add_row("latest check", text + (f" - {latest.message}" if latest.message else ""))
    out.print(table)


@sink_app.command("drop")
def sink_drop(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Delivery stream whose objects to delete."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
) -> None:
    """Delete what a delivery stream delivered (data and errors) and its state."""
    from tidebox.delivery.runner import drop_sink

    settings = settings_of(ctx)
    if not yes and not typer.confirm(f"delete everything delivery stream {name} landed?"):
        raise typer.Abort()
    removed = drop_sink(settings, name)
    err.print(f"dropped delivery stream {name}'s {removed} object(s) and state")
