"""The ``tidebox`` command: thin wrappers that parse, call one library function and print."""

from __future__ import annotations

import sys
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from tidebox.cli.console import err, out, progress_bar, settings_of
from tidebox.cli.jobs import flink_app, job_app
from tidebox.cli.query import catalog_app, query_command
from tidebox.cli.results import print_rows
from tidebox.cli.sinks import sink_app
from tidebox.core.errors import CheckFailedError, TideboxError
from tidebox.core.settings import load_settings

app = typer.Typer(
    help="A local streaming data-pipeline sandbox: Kafka streams, PyFlink jobs, "
    "Parquet landing, DuckDB queries and Great Expectations checks.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
stream_app = typer.Typer(help="Create, list, describe, read and delete streams (Kafka topics).")
app.add_typer(stream_app, name="stream")
app.add_typer(job_app, name="job")
app.add_typer(flink_app, name="flink")
app.add_typer(sink_app, name="sink")
app.add_typer(catalog_app, name="catalog")
bench_app = typer.Typer(help="Quality benchmarks.")
app.add_typer(bench_app, name="bench")
anomaly_app = typer.Typer(help="Random cut forest anomaly scoring (Kinesis Analytics' RCF).")
app.add_typer(anomaly_app, name="anomaly")


@app.callback()
def configure(
    ctx: typer.Context,
    config: Path | None = typer.Option(
        None, "--config", help="Config file (default: tidebox.yaml here or in a parent folder)."
    ),
    state_dir: Path | None = typer.Option(None, "--state-dir", help="Project state folder."),
    bootstrap_servers: str | None = typer.Option(
        None, "--bootstrap-servers", help="Use this Kafka; start no embedded broker."
    ),
    kafka_port: int | None = typer.Option(None, "--kafka-port", help="Embedded broker port."),
    bucket: Path | None = typer.Option(None, "--bucket", help="Folder acting as the bucket."),
) -> None:
    """Read settings once, when a command first needs them: CLI options > TIDEBOX_* variables >
    tidebox.yaml (of this folder or the nearest parent with one) > defaults."""
    overrides = {
        "state_dir": state_dir,
        "bootstrap_servers": bootstrap_servers,
        "kafka_port": kafka_port,
        "bucket": bucket,
    }
    ctx.ensure_object(dict)["load_settings"] = partial(load_settings, overrides, config)


# -- project ------------------------------------------------------------------------------------
@app.command()
def init(
    folder: Path = typer.Argument(..., help="The new project's folder (created if absent)."),
) -> None:
    """Write a new sandbox project: tidebox.yaml and jobs/, producers/, sinks/, expectations/
    with one working example each. Overwrites nothing."""
    from tidebox.cli.init import NEXT_STEPS
    from tidebox.core.scaffold import write_project

    written = write_project(folder)
    out.print(f"wrote a tidebox project in {written.folder}:")
    for path in written.files:
        out.print(f"  {path}")
    out.print("next:")
    out.print(f"  cd {written.folder}", highlight=False)
    for command in NEXT_STEPS:
        out.print(f"  {command}", highlight=False)


# -- runtime ------------------------------------------------------------------------------------
@app.command()
def up(ctx: typer.Context) -> None:
    """Start the embedded Kafka broker (fetching its jars once) and the local AWS endpoint, and
    wait until both answer."""
    from tidebox.runtime import start_broker
    from tidebox.runtime.api_process import start_api
    from tidebox.runtime.maven import flink_connector_jars

    settings = settings_of(ctx)
    if not settings.embedded:
        out.print(f"using Kafka at {settings.kafka_bootstrap}: no broker to start")
    else:
        with err.status("starting Kafka (first run fetches jars with Maven)..."):
            status = start_broker(settings)
            flink_connector_jars(settings.state_dir)
        out.print(
            f"Kafka is up at {status.bootstrap_servers} (pid {status.pid}, data {status.data_dir})"
        )
    with err.status("starting the AWS endpoint..."):
        endpoint = start_api(settings)
    out.print(
        f"AWS endpoint (Kinesis, Firehose) at {endpoint.url}: use --endpoint-url {endpoint.url}",
        highlight=False,
    )


@app.command()
def jars(ctx: typer.Context) -> None:
    """Fetch the Kafka broker and Flink connector jars with Maven (up does it on first use)."""
    from tidebox.runtime import flink_connector_jars, kafka_broker_jars

    state = settings_of(ctx).state_dir
    with err.status("fetching jars with Maven..."):
        fetched = [*kafka_broker_jars(state), *flink_connector_jars(state)]
    out.print(f"{len(fetched)} jars in {state / 'jars'}")


@app.command()
def down(ctx: typer.Context) -> None:
    """Stop the AWS endpoint and the embedded Kafka broker; their data stays for the next 'up'."""
    from tidebox.runtime import stop_broker
    from tidebox.runtime.api_process import stop_api

    settings = settings_of(ctx)
    out.print("AWS endpoint stopped" if stop_api(settings) else "AWS endpoint was not running")
    out.print("Kafka stopped" if stop_broker(settings) else "Kafka was not running")


@app.command("api")
def api_command(
    ctx: typer.Context,
    port: int | None = typer.Option(None, "--port", help="Port on 127.0.0.1 (default 4566)."),
) -> None:
    """Run the local AWS endpoint (Kinesis and Firehose APIs) in the foreground until Ctrl-C;
    'tidebox up' starts the same in the background."""
    from tidebox.api.server import check_port_free, serve

    settings = settings_of(ctx)
    if port is not None:
        settings = settings.model_copy(update={"api_port": port})
    check_port_free(settings.api_port)
    err.print(f"AWS endpoint at {settings.api_url} (Ctrl-C stops it)", highlight=False)
    serve(settings)


@app.command()
def status(ctx: typer.Context) -> None:
    """Report whether Kafka answers, what streams exist, whether the AWS endpoint runs, and the
    catalog's tables."""
    from tidebox.lake.tables import list_tables
    from tidebox.runtime import broker_status
    from tidebox.runtime.api_process import api_status
    from tidebox.streams.admin import list_streams

    settings = settings_of(ctx)
    broker = broker_status(settings)
    kind = "embedded" if broker.embedded else "external"
    state = "[green]running[/]" if broker.running else "[red]not running[/]"
    out.print(f"Kafka ({kind}) at {broker.bootstrap_servers}: {state}")
    if broker.pid:
        out.print(f"  pid {broker.pid}, data in {broker.data_dir}")
    if broker.running:
        out.print(f"  streams: {', '.join(list_streams(settings)) or 'none'}")
    endpoint = api_status(settings)
    shown = "[green]running[/]" if endpoint.running else "[red]not running[/]"
    out.print(f"AWS endpoint at {endpoint.url}: {shown}", highlight=False)
    tables = list_tables(settings)
    out.print(f"Catalog: {len(tables)} table(s) (bucket {settings.bucket_path})")
    for table in tables:
        out.print(f"  {table.name}: {table.format} at {table.location}")
    if not broker.running:
        raise typer.Exit(3)


# -- streams ------------------------------------------------------------------------------------
@stream_app.command("create")
def stream_create(
    ctx: typer.Context,
    name: str,
    shards: int | None = typer.Option(None, "--shards", help="Partitions (default 1 or spec)."),
    retention_hours: float | None = typer.Option(None, "--retention-hours", help="Default 24."),
) -> None:
    """Create a stream: shards are partitions, retention is the topic's retention.ms."""
    from tidebox.streams.admin import create_stream

    info = create_stream(settings_of(ctx), name, shards, retention_hours)
    out.print(f"created {info.name}: {len(info.shards)} shard(s), {info.retention_hours:g} h")


@stream_app.command("list")
def stream_list(ctx: typer.Context) -> None:
    """List the streams."""
    from tidebox.streams.admin import list_streams

    for name in list_streams(settings_of(ctx)):
        out.print(name)


@stream_app.command("describe")
def stream_describe(ctx: typer.Context, name: str) -> None:
    """Shards with their earliest/latest sequence numbers (offsets) and record counts, and,
    while the AWS endpoint runs, each shard's use over the last minute against its limits."""
    from tidebox.runtime.api_process import shard_usage
    from tidebox.streams.admin import describe_stream

    settings = settings_of(ctx)
    info = describe_stream(settings, name)
    usage = shard_usage(settings, name)
    table = Table(
        title=f"{info.name}: retention {info.retention_hours:g} h, {info.records} records"
    )
    for column in ("shard", "earliest sequence", "latest sequence", "records"):
        table.add_column(column, justify="right")
    if usage is not None:
        for column in USAGE_COLUMNS:
            table.add_column(column, justify="right")
    for shard in info.shards:
        row = [str(shard.shard), str(shard.earliest), str(shard.latest), str(shard.records)]
        if usage is not None:
            row += usage_cells(usage["shards"].get(str(shard.shard), {}))
        table.add_row(*row)
    out.print(table)
    if usage is not None:
        limits = "enforced" if usage.get("limits") else "off (counted only)"
        out.print(
            "busiest second of the last minute through the AWS endpoint, against Kinesis' "
            f"per-shard limits ({limits}); refused = calls answered "
            "ProvisionedThroughputExceededException",
            highlight=False,
        )


USAGE_COLUMNS = (
    "in rec/s (of 1,000)",
    "in KiB/s (of 1,024)",
    "GetRecords/s (of 5)",
    "out KiB/s (of 2,048)",
    "refused",
)


def usage_cells(figures: dict[str, float]) -> list[str]:
    """One shard's busiest second, in the order of USAGE_COLUMNS."""
    return [
        f"{figures.get('records_in_peak', 0):,.0f}",
        f"{figures.get('bytes_in_peak', 0) / 1024:,.1f}",
        f"{figures.get('calls_peak', 0):,.0f}",
        f"{figures.get('bytes_out_peak', 0) / 1024:,.1f}",
        f"{figures.get('refused_mean', 0) * 60:,.0f}",
    ]


@stream_app.command("read")
def stream_read(
    ctx: typer.Context,
    name: str,
    value: str | None = typer.Argument(
        None, help="The position's value: a sequence number, or a time for at-timestamp."
    ),
    start: str = typer.Option(
        "trim-horizon",
        "--from",
        help="trim-horizon | latest | at-timestamp T | at-sequence N | after-sequence N",
    ),
    shard: str | None = typer.Option(None, "--shard", help="One shard: 3 or shardId-000000000003."),
    limit: int | None = typer.Option(None, "--limit", min=0, help="Stop after this many records."),
    follow: bool = typer.Option(False, "--follow", help="Keep printing new records (Ctrl-C ends)."),
) -> None:
    """Print a stream's committed records as JSON lines: shard, sequence number, arrival time,
    partition key and data."""
    from tidebox.cli.stream_read import record_line
    from tidebox.streams.reader import parse_position, read_stream
    from tidebox.streams.shards import parse_shard_id

    position = parse_position(start, value)
    number = parse_shard_id(shard) if shard is not None else None
    records = read_stream(settings_of(ctx), name, position, number, limit, follow)
    try:
        for record in records:
            print(record_line(record), flush=follow)
    except KeyboardInterrupt:
        pass
    finally:
        records.close()


@stream_app.command("delete")
def stream_delete(ctx: typer.Context, name: str) -> None:
    """Delete a stream and its records."""
    from tidebox.streams.admin import delete_stream

    delete_stream(settings_of(ctx), name)
    out.print(f"deleted {name}")


# -- producers ----------------------------------------------------------------------------------
@app.command()
def generate(
    ctx: typer.Context,
    out_path: Path | None = typer.Option(
        None,
        "--out",
        help=".csv/.jsonl/.parquet (default: the project's data/sensor_readings.csv).",
    ),
    spec_file: str | None = typer.Option(
        None, "--spec", help="A generator spec file, or NAME for the project's producers/NAME.yaml."
    ),
    devices: int | None = typer.Option(None, "--devices", help="Default 20."),
    hours: float | None = typer.Option(None, "--hours", help="Default 6."),
    interval: float | None = typer.Option(
        None, "--interval", help="Seconds between readings (default 10)."
    ),
    seed: int | None = typer.Option(None, "--seed", help="Default 42."),
    anomaly_rate: float | None = typer.Option(
        None, "--anomaly-rate", help="Anomaly episodes per reading (default 0.0005)."
    ),
    start: datetime | None = typer.Option(
        None, "--start", help="UTC start time (default 2026-01-01)."
    ),
) -> None:
    """Write a seeded synthetic IoT data set with labelled anomalies (options beat --spec)."""
    from datetime import UTC

    from tidebox.streams.generate import GenerateSpec, write_dataset
    from tidebox.streams.producer_spec import find_spec_file, read_generate_spec

    given: dict[str, Any] = {
        "devices": devices,
        "hours": hours,
        "interval_seconds": interval,
        "seed": seed,
        "anomaly_rate": anomaly_rate,
        "start": start.replace(tzinfo=start.tzinfo or UTC) if start else None,
    }
    if spec_file is not None:
        spec = read_generate_spec(find_spec_file(settings_of(ctx), spec_file), given)
    else:
        spec = GenerateSpec(**{k: v for k, v in given.items() if v is not None})
    # the default is the project's, not the working folder's: the same file from any folder
    target = out_path or settings_of(ctx).project_dir / "data" / "sensor_readings.csv"
    result = write_dataset(spec, target)
    out.print(
        f"wrote {result.rows:,} readings of {result.devices} devices to {result.path} "
        f"({result.start:%Y-%m-%d %H:%M} to {result.end:%Y-%m-%d %H:%M} UTC, "
        f"{result.anomalies:,} labelled anomalous)"
    )


@app.command("replay")
def replay_command(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(..., help="CSV, JSON Lines or Parquet files."),
    stream: str = typer.Option(..., "--stream", help="Target stream."),
    time_field: str | None = typer.Option(None, "--time-field"),
    key_field: str | None = typer.Option(None, "--key-field", help="Partition key field."),
    speedup: float | None = typer.Option(None, "--speedup", help="X times real time."),
    rate: float | None = typer.Option(None, "--rate", help="Cap in events/s."),
    loop: bool = typer.Option(False, "--loop", help="Start over, shifted in time, at the end."),
    limit: int | None = typer.Option(None, "--limit", help="Stop after this many events."),
    file_order: bool = typer.Option(
        False, "--file-order", help="Send rows in file order (late arrivals included)."
    ),
) -> None:
    """Replay files into a stream in event-time order."""
    from tidebox.streams.replay import ReplayOptions, replay

    options = ReplayOptions(time_field, key_field, speedup, rate, loop, limit, file_order)
    with progress_bar() as bar:
        task = bar.add_task("replay", total=None)
        result = replay(settings_of(ctx), files, stream, options, lambda n: bar.advance(task, n))
    out.print(
        f"replayed {result.events:,} events to {result.stream} in {result.seconds:.1f} s "
        f"({result.events_per_second:,.0f} events/s)"
    )


# -- query and check ----------------------------------------------------------------------------
app.command("query")(query_command)


@app.command()
def check(
    ctx: typer.Context,
    suite: str = typer.Argument("sensor_readings", help="Suite name (expectations/<suite>.json)."),
    table: str | None = typer.Option(None, "--table", help="Landed table (default: suite's)."),
    suite_file: Path | None = typer.Option(None, "--suite-file", help="Another suite file."),
    output: str = typer.Option("table", "--format", help="table, or json (Glue's result shape)."),
    ruleset: str | None = typer.Option(
        None, "--ruleset", help="A DQDL ruleset: NAME (expectations/NAME.dqdl) or a file."
    ),
    where: str | None = typer.Option(
        None, "--where", help="SQL predicate on the table (partition keys prune files)."
    ),
    row_level: Path | None = typer.Option(
        None, "--row-level", help="Write every row with its rule outcomes (.parquet or .csv)."
    ),
) -> None:
    """Run a Great Expectations suite, or with --ruleset a DQDL ruleset, against a landed table
    and print each rule's outcome and the score in Glue Data Quality's shape; exit 1 if any
    rule fails or errs (an ERROR is not a pass, as Glue counts it). With --row-level, also
    write every row with the rules it passed, failed and skipped (Glue's row-level outcomes)."""
    from tidebox.cli.quality import FORMATS, print_quality, print_row_level

    if output not in FORMATS:
        raise TideboxError(f"--format must be one of {', '.join(FORMATS)}, got '{output}'")
    if ruleset is not None:
        from tidebox.quality.dqdl.evaluate import run_ruleset

        result = run_ruleset(
            settings_of(ctx), ruleset, table or Path(ruleset).stem, where, row_level
        )
    elif where is not None or row_level is not None:
        raise TideboxError("--where and --row-level apply to a DQDL ruleset (--ruleset)")
    else:
        from tidebox.quality.landed import check_table_result

        result = check_table_result(settings_of(ctx), suite, table, suite_file)
    print_quality(result, output)
    if row_level is not None and output != "json":
        print_row_level(result, row_level)
    if not result.passed:
        failed = [r.description for r in result.rules if r.result != "PASS"]
        if result.kind == "dqdl":
            failed = [f"{r.name} {r.result}" for r in result.rules if r.result != "PASS"]
        raise CheckFailedError(result.ruleset, failed, "suite" if ruleset is None else "ruleset")


# -- anomaly scoring ----------------------------------------------------------------------------
@anomaly_app.command("score")
def anomaly_score(
    file: Path = typer.Argument(..., help="CSV, JSON Lines or Parquet file."),
    time_field: str = typer.Option(..., "--time-field", help="Rows are scored in this order."),
    columns: str = typer.Option(..., "--columns", help="Numeric columns, comma-separated."),
    out_path: Path = typer.Option(..., "--out", help="Output .csv, .jsonl or .parquet."),
    preset: str = typer.Option(
        "kinesis", "--preset", help="kinesis (RANDOM_CUT_FOREST defaults) or tuned."
    ),
    trees: int | None = typer.Option(None, "--trees", help="numberOfTrees (1-1000)."),
    sample_size: int | None = typer.Option(None, "--sample-size", help="subSampleSize."),
    time_decay: int | None = typer.Option(None, "--time-decay", help="timeDecay (records)."),
    shingle_size: int | None = typer.Option(None, "--shingle-size", help="shingleSize (1-30)."),
    seed: int | None = typer.Option(None, "--seed"),
) -> None:
    """Score a file row by row in time order, as the streaming job would."""
    from tidebox.anomaly.scoring import params_for, score_file

    names = [c.strip() for c in columns.split(",") if c.strip()]
    params = params_for(
        preset,
        len(names),
        number_of_trees=trees,
        sub_sample_size=sample_size,
        time_decay=time_decay,
        shingle_size=shingle_size,
        seed=seed,
    )
    with err.status(f"scoring {file}..."):
        result = score_file(file, time_field, names, out_path, params, preset)
    out.print(
        f"scored {result.rows:,} rows into {result.path}: max score {result.max_score:.2f}, "
        f"{result.anomalies:,} graded anomalous"
    )


@bench_app.command("nab")
def bench_nab(
    ctx: typer.Context,
    data: Path = typer.Option(..., "--data", help="A NAB folder: data/<category>/*.csv, labels/."),
    preset: str = typer.Option("kinesis", "--preset", help="Detector preset."),
    seed: int = typer.Option(0, "--seed", help="The forests' seed."),
    through_pipeline: bool = typer.Option(
        False,
        "--through-pipeline",
        help="Replay each file as a key of one stream, score it with RANDOM_CUT_FOREST in a "
        "SQL job, land the scores, and score what landed (beside the offline figures).",
    ),
) -> None:
    """Score a detector preset on a NAB corpus (standard, reward-low-FP, reward-low-FN)."""
    from tidebox.anomaly.forest import ForestError
    from tidebox.anomaly.nab import DETECTORS, evaluate, load_corpus

    if preset not in DETECTORS:
        raise ForestError(f"unknown preset '{preset}': use {', '.join(DETECTORS)}", "preset")
    if through_pipeline:
        from tidebox.cli.nab_pipeline import run_nab_pipeline

        with err.status(f"running {preset} through the pipeline..."):
            run = run_nab_pipeline(settings_of(ctx), data, preset, seed)
        grid = Table(title=f"NAB through the pipeline, {preset}, seed {seed}, {run.files} files")
        for column in ("profile", "pipeline", "offline", "threshold"):
            grid.add_column(column)
        for piped, offline in zip(run.pipeline, run.offline, strict=True):
            grid.add_row(
                piped.profile,
                f"{piped.score:.2f}",
                f"{offline.score:.2f}",
                f"{piped.threshold:.4f}",
            )
        out.print(grid)
        steps = ", ".join(f"{k} {v:.1f} s" for k, v in run.step_seconds.items())
        out.print(
            f"{run.rows:,} rows in {run.seconds:.1f} s ({run.rows_per_second:,.0f} rows/s end to "
            f"end: {steps}); the pipeline's figures "
            + ("equal the offline ones" if run.equal else "DIFFER from the offline ones")
        )
        if not run.equal:
            raise typer.Exit(1)
        return
    corpus = load_corpus(data)
    with err.status(f"running {preset} over {len(corpus)} files..."):
        results = evaluate(corpus, DETECTORS[preset](seed))
    grid = Table(title=f"NAB, {preset}, seed {seed}, {len(corpus)} files")
    for column in ("profile", "score", "threshold"):
        grid.add_column(column)
    for result in results:
        grid.add_row(result.profile, f"{result.score:.2f}", f"{result.threshold:.4f}")
    out.print(grid)


@app.command()
def evaluate(
    ctx: typer.Context,
    scores: str = typer.Argument(..., help="Landed table with the alarms (and labels)."),
    labels: str | None = typer.Option(
        None, "--labels", help="Landed table with the labels (default: the scores' table)."
    ),
    key: str = typer.Option("device_id", "--key", help="Column telling series apart."),
    time: str = typer.Option("event_time", "--time", help="Event-time column."),
    alarm: str = typer.Option("anomaly_grade", "--alarm", help="Column whose values alarm."),
    threshold: float = typer.Option(
        0.165, "--threshold", help="Alarm when above this (default: the tuned grade's alarm level)."
    ),
    label: str = typer.Option("is_anomaly", "--label", help="True on labelled rows."),
    kind: str = typer.Option(
        "anomaly_type", "--kind", help="Kind of each labelled row ('' for none)."
    ),
    grace: float = typer.Option(300.0, "--grace", help="Seconds after an event an alarm hits."),
) -> None:
    """Measure landed alarms against labelled anomalies: events caught per kind, precision,
    recall, F1, detection delay, false alarms per device-day."""
    import pandas as pd

    from tidebox.cli.results import print_detection
    from tidebox.quality.detection import EvaluateOptions, evaluate_landed

    options = EvaluateOptions(
        labels, key, time, alarm, threshold, label, kind or None, pd.Timedelta(seconds=grace)
    )
    print_detection(evaluate_landed(settings_of(ctx), scores, options), f"alarms of {scores}")


@app.command()
def report(
    ctx: typer.Context,
    out_path: Path | None = typer.Option(
        None, "--out", help="The HTML file (default: .tidebox/reports/demo.html)."
    ),
) -> None:
    """Write the demo's report again from what it landed: one HTML file that opens offline."""
    from tidebox.report import write_report

    out.print(f"report written to {write_report(settings_of(ctx), out_path)}")


# -- demo ---------------------------------------------------------------------------------------
@app.command()
def demo(
    ctx: typer.Context,
    devices: int = typer.Option(20, "--devices"),
    hours: float = typer.Option(6.0, "--hours"),
) -> None:
    """Run the whole pipeline once: up, generate, replay, jobs, sink, query, check, evaluate,
    and write the report."""
    from tidebox.cli.demo import run_demo
    from tidebox.cli.results import print_detection
    from tidebox.streams.generate import GenerateSpec

    spec = GenerateSpec(devices=devices, hours=hours)
    summary = run_demo(settings_of(ctx), spec, say=lambda step: err.print(f"[bold]▶ {step}[/]"))
    print_rows(
        summary.query_result, list(summary.query_result[0]) if summary.query_result else [], "table"
    )
    print_detection(summary.detection, "anomalies caught (RANDOM_CUT_FOREST per device)")
    passed = sum(o.success for o in summary.check.outcomes)
    out.print(
        f"events replayed   {summary.events_replayed:,} "
        f"({summary.anomalies_labelled:,} labelled anomalous)\n"
        f"windows computed  {summary.windows_computed:,}\n"
        f"readings scored   {summary.readings_scored:,}\n"
        f"files landed      {summary.files_landed} ({summary.rows_landed:,} rows)\n"
        f"checks passed     {passed}/{len(summary.check.outcomes)}\n"
        f"ruleset passed    {summary.ruleset.count('PASS')}/{len(summary.ruleset.rules)} "
        f"(score {summary.ruleset.score:.2f})\n"
        f"report            {summary.report}\n"
        f"total time        {summary.seconds:.1f} s "
        + "("
        + ", ".join(f"{k} {v:.1f}s" for k, v in summary.step_seconds.items())
        + ")"
    )
    if not summary.check.success:
        raise CheckFailedError(summary.check.suite, summary.check.failed)
    if not summary.ruleset.passed:
        failed = [r.name for r in summary.ruleset.rules if r.result != "PASS"]
        raise CheckFailedError(summary.ruleset.ruleset, failed, "ruleset")


def main() -> None:
    """Console entry point: every TideboxError becomes one line on stderr and a non-zero exit."""
    try:
        code = app(standalone_mode=False)
    except TideboxError as exc:
        err.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("aborted")
        sys.exit(1)
    except typer.TyperException as exc:  # usage errors: typer shows them and names the code
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            err.print(f"error: {exc}")
        sys.exit(getattr(exc, "exit_code", 2))
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
