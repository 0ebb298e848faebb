"""``tidebox job`` and ``tidebox flink``: run, list and stop Flink jobs, and a local cluster."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.table import Table

from tidebox.cli.console import err, out, settings_of

job_app = typer.Typer(
    help="Run, list and stop Flink jobs (SQL, Python, or Kinesis Data Analytics SQL applications)."
)
flink_app = typer.Typer(help="A standalone Flink cluster on this machine, for 'job run --cluster'.")


@job_app.command("run")
def job_run(
    ctx: typer.Context,
    job: str = typer.Argument(
        ..., help="A job file, or NAME: a job in tidebox.yaml, else the project's jobs/NAME.sql|py."
    ),
    bounded: bool | None = typer.Option(
        None,
        "--bounded/--continuous",
        help="Stop at the offsets present at start (default), or run until stopped.",
    ),
    parallelism: int | None = typer.Option(None, "--parallelism", min=1),
    name: str | None = typer.Option(None, "--name", help="Job name (default: file name)."),
    checkpoint_seconds: float | None = typer.Option(
        None, "--checkpoint-interval", min=1, help="Seconds between checkpoints (default 60)."
    ),
    from_savepoint: Path | None = typer.Option(
        None, "--from-savepoint", help="Resume from this savepoint or checkpoint folder."
    ),
    fresh: bool = typer.Option(
        False, "--fresh", help="Forget the job's checkpoints and savepoints; start from scratch."
    ),
    cluster: str | None = typer.Option(
        None, "--cluster", help="Submit to the Flink cluster at this REST URL."
    ),
    delivery: str | None = typer.Option(
        None, "--delivery", help="exactly-once (default) or at-least-once."
    ),
    param: list[str] = typer.Option(
        [], "--param", help="KEY=VALUE for a Python job's build(env, params); repeatable."
    ),
    dialect: str | None = typer.Option(
        None,
        "--dialect",
        help="flink or kinesis-analytics (default: a .kda.sql file, or one with CREATE PUMP, "
        "is a Kinesis Data Analytics application).",
    ),
    input_stream: str | None = typer.Option(
        None, "--input", help="The stream a KDA application's SOURCE_SQL_STREAM_001 reads."
    ),
    output: list[str] = typer.Option(
        [],
        "--output",
        help="IN_APP_STREAM=STREAM: where a KDA output stream writes (default: its name in "
        "lower case); repeatable.",
    ),
) -> None:
    """Run a Flink job (.sql or .py, or a Kinesis Data Analytics SQL application) on the local
    Flink mini-cluster (or one with --cluster)."""
    from tidebox.flink.kda.job import KdaBinding
    from tidebox.flink.loader import resolve_job
    from tidebox.flink.runner import RunOptions, run_job

    settings = settings_of(ctx)
    params = _pairs("--param", param)
    kda = KdaBinding(input_stream, _pairs("--output", output), dialect)
    options = RunOptions(
        bounded=bounded,
        parallelism=parallelism,
        name=name,
        checkpoint_seconds=checkpoint_seconds,
        delivery=delivery,
        restore=from_savepoint or ("none" if fresh else "latest"),
        cluster=cluster,
        params=params or None,
        kda=kda,
    )
    path, _ = resolve_job(settings, job)  # only to say which file runs
    where = f"the Flink cluster at {cluster}" if cluster else "a local Flink mini-cluster"
    with err.status(f"running {path} on {where}..."):
        result = run_job(settings, job, options)
    if result.restored_from:
        err.print(f"resumed from {result.restored_from}")
    written = ", ".join(f"{n:,} records to {s}" for s, n in result.records_out.items())
    ended = "was stopped after" if result.stopped else "finished in"
    out.print(f"job {result.job} {ended} {result.seconds:.1f} s: {written or 'no output'}")
    if result.late_records:
        err.print(f"{result.late_records:,} late record(s) routed to {result.late_stream}")


def _pairs(option: str, pairs: list[str]) -> dict[str, str]:
    """KEY=VALUE options as a dict."""
    found: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{option} takes KEY=VALUE, got {pair!r}")
        found[key.strip()] = value.strip()
    return found


@job_app.command("translate")
def job_translate(
    ctx: typer.Context,
    job: str = typer.Argument(..., help="A Kinesis Data Analytics SQL application file."),
    input_stream: str = typer.Option(
        ..., "--input", help="The stream its SOURCE_SQL_STREAM_001 reads."
    ),
    output: list[str] = typer.Option(
        [], "--output", help="IN_APP_STREAM=STREAM for an output stream; repeatable."
    ),
) -> None:
    """Print the Flink SQL a KDA SQL application runs as (table DDL included)."""
    from tidebox.flink.kda.job import KdaBinding
    from tidebox.flink.runner import render_job_sql

    binding = KdaBinding(input_stream, _pairs("--output", output), "kinesis-analytics")
    sys.stdout.write(render_job_sql(settings_of(ctx), job, False, binding))


@job_app.command("list")
def job_list(ctx: typer.Context) -> None:
    """The jobs started by 'tidebox job run' that have not ended, with their Flink state."""
    from tidebox.flink.registry import job_statuses

    statuses = job_statuses(settings_of(ctx))
    if not statuses:
        out.print("no running jobs")
        return
    table = Table("job", "state", "flink job id", "where", "pid", "file")
    for status in statuses:
        job = status.job
        table.add_row(job.name, status.state, job.job_id, job.rest_url, str(job.pid), job.file)
    out.print(table)


@job_app.command("stop")
def job_stop(
    ctx: typer.Context,
    name: str,
    savepoint: bool = typer.Option(
        False, "--savepoint", help="Take a savepoint first; the next run resumes from it."
    ),
) -> None:
    """Stop a running job: cancel it, or stop it with a savepoint."""
    from tidebox.flink.registry import stop_job

    with err.status(f"stopping {name}..."):
        location = stop_job(settings_of(ctx), name, savepoint)
    out.print(f"stopped {name}" + (f"; savepoint at {location}" if location else ""))


@job_app.command("sql")
def job_sql(
    ctx: typer.Context,
    job: str = typer.Argument(
        ..., help="A job file, or NAME: a job in tidebox.yaml, else the project's jobs/NAME.sql."
    ),
    bounded: bool = typer.Option(False, "--bounded/--continuous"),
) -> None:
    """Print the job as one SQL script (table DDL included) for Flink's SQL client."""
    from tidebox.flink.runner import render_job_sql

    sys.stdout.write(render_job_sql(settings_of(ctx), job, bounded))


# -- sinks --------------------------------------------------------------------------------------


@flink_app.command("up")
def flink_up(
    ctx: typer.Context,
    port: int = typer.Option(8081, "--port", help="REST port of the cluster."),
    slots: int = typer.Option(2, "--slots", min=1, help="Task slots of its TaskManager."),
) -> None:
    """Start a JobManager and a TaskManager from the installed Flink, on 127.0.0.1."""
    from tidebox.runtime.flink_cluster import start_flink_cluster

    with err.status("starting a Flink cluster..."):
        url = start_flink_cluster(settings_of(ctx), port, slots)
    out.print(
        f"Flink cluster is up at {url}: run jobs on it with 'tidebox job run JOB --cluster {url}'"
    )


@flink_app.command("down")
def flink_down(ctx: typer.Context) -> None:
    """Stop the cluster that 'tidebox flink up' started."""
    from tidebox.runtime.flink_cluster import stop_flink_cluster

    stop_flink_cluster(settings_of(ctx))
    out.print("Flink cluster stopped")
