"""Settings: one frozen object, from CLI options, TIDEBOX_* variables, tidebox.yaml and defaults.

Precedence is CLI > environment > tidebox.yaml > defaults. The environment is read only here
(:func:`read_environment`), so the list of variables below is the complete one:

=============================  ==========================================================
TIDEBOX_CONFIG                 path of the config file (default: the project's ``tidebox.yaml``)
TIDEBOX_STATE_DIR              project-local state folder (default ``<project>/.tidebox``)
TIDEBOX_BOOTSTRAP_SERVERS      use this Kafka instead of starting the embedded broker
TIDEBOX_KAFKA_PORT             port of the embedded broker (default 9092; +1 is its controller)
TIDEBOX_BUCKET                 folder acting as the landing bucket (default ``<state>/bucket``)
TIDEBOX_FLINK_PARALLELISM      default parallelism of Flink jobs (default 1)
TIDEBOX_FLINK_CLUSTER          REST URL of a Flink cluster: jobs are submitted there instead
                               of to a local mini-cluster (``--cluster`` on ``job run``)
TIDEBOX_FLINK_BOOTSTRAP_SERVERS  Kafka as that cluster reaches it, when not as tidebox does
                               (``kafka:19092`` for the docker-compose cluster)
TIDEBOX_CHECKPOINT_SECONDS     checkpoint interval of Flink jobs (default 60, at least 1)
TIDEBOX_S3_ENDPOINT            URL of the S3-compatible endpoint for ``s3://`` destinations
                               (credentials: the usual AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
                               AWS_REGION, read by the S3 client itself)
=============================  ==========================================================

The project is the folder of that file: the working folder or its nearest parent with a
``tidebox.yaml`` (see :mod:`tidebox.core.project`). Relative paths in tidebox.yaml and in the
project's ``sinks/*.yaml`` are relative to the project folder; relative paths given on the
command line or in TIDEBOX_* variables keep the shell's meaning (the working folder).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from tidebox.core.errors import ConfigError
from tidebox.core.project import (
    CONFIG_FILE,
    find_project,
    in_project,
    job_file,
    read_sink_files,
    read_yaml_mapping,
    resolve_paths,
)
from tidebox.templates import DEMO_JOB, DEMO_SCORING_JOB

ENV_PREFIX = "TIDEBOX_"
ENV_FIELDS = {
    "STATE_DIR": "state_dir",
    "BOOTSTRAP_SERVERS": "bootstrap_servers",
    "KAFKA_PORT": "kafka_port",
    "BUCKET": "bucket",
    "FLINK_PARALLELISM": "flink_parallelism",
    "FLINK_CLUSTER": "flink_cluster",
    "FLINK_BOOTSTRAP_SERVERS": "flink_bootstrap_servers",
    "CHECKPOINT_SECONDS": "checkpoint_seconds",
    "S3_ENDPOINT": "s3_endpoint",
    "API_PORT": "api_port",
    "SHARD_LIMITS": "shard_limits",
}
DEFAULT_STATE_DIR = ".tidebox"

# Column types are Flink SQL type names: the job runner uses them verbatim in table DDL,
# the sink maps them to Arrow types.
SENSOR_COLUMNS: dict[str, str] = {
    "device_id": "STRING",
    "event_time": "TIMESTAMP_LTZ(3)",
    "temperature": "DOUBLE",
    "humidity": "DOUBLE",
    "vibration": "DOUBLE",
    "battery": "DOUBLE",
    "is_anomaly": "BOOLEAN",
    "anomaly_type": "STRING",
    "anomaly_sensor": "STRING",
}
SENSORS = ("temperature", "humidity", "vibration", "battery")


def _stats_columns() -> dict[str, str]:
    columns = {
        "window_start": "TIMESTAMP(3)",
        "window_end": "TIMESTAMP(3)",
        "device_id": "STRING",
        "readings": "BIGINT",
    }
    for sensor in SENSORS:
        columns[f"{sensor}_count"] = "BIGINT"
        for stat in ("avg", "min", "max"):
            columns[f"{sensor}_{stat}"] = "DOUBLE"
    return columns


def _score_columns() -> dict[str, str]:
    """The readings as jobs/device_anomaly_scores.sql writes them: values, labels, scores."""
    columns = {"device_id": "STRING", "event_time": "TIMESTAMP_LTZ(3)"}
    columns.update({sensor: "DOUBLE" for sensor in SENSORS})
    columns.update(
        {
            "is_anomaly": "BOOLEAN",
            "anomaly_type": "STRING",
            "anomaly_score": "DOUBLE",
            "anomaly_grade": "DOUBLE",
        }
    )
    return columns


def is_name(value: str) -> bool:
    """Whether ``value`` can name a stream or a delivery stream: letters, digits, _ - . only."""
    return bool(value) and all(c.isalnum() or c in "_-." for c in value)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StreamSpec(_Frozen):
    """A stream (a Kafka topic) and the shape of its JSON records."""

    name: str
    shards: int = Field(default=1, ge=1, le=1000)
    retention_hours: float = Field(default=24.0, gt=0)
    time_field: str | None = None
    key_field: str | None = None
    watermark_seconds: float = Field(default=5.0, ge=0)
    # a shard that receives nothing for this long no longer holds back the watermark
    idle_timeout_seconds: float = Field(default=5.0, gt=0)
    # on-periodic: every 200 ms, as Flink does by default; on-event: after every record, so
    # which records are late depends only on their order in each shard (tests use it)
    watermark_emit: Literal["on-periodic", "on-event"] = "on-periodic"
    columns: dict[str, str] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not is_name(value):
            raise ValueError(f"stream name '{value}' may hold only letters, digits, _ - .")
        return value


class SuiteSpec(_Frozen):
    """A Great Expectations suite file under expectations/ and the landed table it checks."""

    name: str
    table: str
    file: str | None = None


class JobSpec(_Frozen):
    """A named Flink SQL job: ``tidebox job run NAME`` runs its file."""

    name: str
    file: str
    parallelism: int | None = Field(default=None, ge=1, le=256)
    bounded: bool = True
    checkpoint_seconds: float | None = Field(default=None, ge=1)
    delivery: Literal["exactly-once", "at-least-once"] = "exactly-once"
    # where records behind the watermark go ("" to let Flink drop them); default <job>_late
    late_stream: str | None = None
    params: dict[str, str] = Field(default_factory=dict)  # a Python job's build(env, params)
    # a Kinesis Data Analytics SQL application: its dialect (None: told by the file), the
    # stream SOURCE_SQL_STREAM_001 reads, and where its output in-application streams write
    dialect: Literal["flink", "kinesis-analytics"] | None = None
    input: str | None = None
    outputs: dict[str, str] = Field(default_factory=dict)


class BufferingHints(_Frozen):
    """Firehose's BufferingHints: an object is delivered when either is reached."""

    # MB of incoming records; default 5, or 128 (at least 64) with Parquet conversion
    size_in_mbs: int | None = Field(default=None, ge=1, le=128)
    interval_in_seconds: int = Field(default=300, ge=0, le=900)
    # sandbox override, not in Firehose: deliver at this many bytes, below Firehose's minimum,
    # so that small tests and demos see files quickly
    size_in_bytes: int | None = Field(default=None, ge=1)


class DynamicPartitioning(_Frozen):
    """Partition keys taken from each record with jq, used as !{partitionKeyFromQuery:key}."""

    partition_keys: dict[str, str] = Field(default_factory=dict)  # key name -> jq expression
    active_partition_limit: int = Field(default=500, ge=1, le=5000)


class Processor(_Frozen):
    """The transform hook: a Python function called as Firehose calls a transformation Lambda."""

    function: str  # module:function or path/to/file.py:function
    buffer_size_in_mbs: float = Field(default=1.0, gt=0, le=3)  # per call, as Firehose's 0.2-3
    number_of_retries: int = Field(default=3, ge=0, le=300)


class SinkSpec(_Frozen):
    """A delivery stream: a stream landed as objects under a destination, as Firehose to S3.

    ``tidebox sink run NAME``. Field names follow Firehose's (snake_case)."""

    name: str
    stream: str
    destination: str | None = None  # a folder or s3://bucket/path; default the bucket
    schema_table: str | None = None  # a stream or table whose columns are the schema
    columns: dict[str, str] = Field(default_factory=dict)  # or the schema given here
    output_format: Literal["parquet", "json"] = "parquet"  # json: no record format conversion
    compression: Literal["SNAPPY", "GZIP", "ZSTD", "UNCOMPRESSED"] | None = None
    case_insensitive: bool = True  # JSON keys match columns in any case (OpenX SerDe)
    prefix: str | None = None
    error_output_prefix: str | None = None
    buffering_hints: BufferingHints = BufferingHints()
    dynamic_partitioning: DynamicPartitioning | None = None
    processor: Processor | None = None
    # a DQDL ruleset (NAME: expectations/NAME.dqdl, or a file) run on each Parquet object
    # delivered, its results recorded beside the state; it never stops delivery
    ruleset: str | None = None

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not is_name(value) or len(value) > 64:
            raise ValueError(f"delivery stream name '{value}' may hold only letters, digits, _ - .")
        return value

    @model_validator(mode="after")
    def _check_buffering(self) -> SinkSpec:
        size = self.buffering_hints.size_in_mbs
        if self.output_format == "parquet" and size is not None and size < 64:
            raise ValueError(
                f"buffering_hints.size_in_mbs is {size}, but Parquet conversion needs 64-128 "
                "as in Firehose (buffering_hints.size_in_bytes is the sandbox override)"
            )
        if self.output_format == "json" and self.compression in ("SNAPPY", "ZSTD"):
            raise ValueError("json output is UNCOMPRESSED or GZIP")
        return self

    @model_validator(mode="after")
    def _check_ruleset(self) -> SinkSpec:
        if self.ruleset is not None and self.output_format != "parquet":
            raise ValueError(f"delivery stream {self.name}: a ruleset runs on parquet output only")
        return self

    @model_validator(mode="after")
    def _check_schema(self) -> SinkSpec:
        if self.columns and self.schema_table:
            raise ValueError(f"delivery stream {self.name}: give columns or schema_table, not both")
        return self

    @property
    def schema_source(self) -> str:
        """The table whose columns are the schema: the delivery's own (``columns``), else
        ``schema_table``, else the source stream. Decided here only, for the conversion and
        the error documents' ``dataCatalogTable`` alike."""
        if self.columns:
            return self.name
        return self.schema_table or self.stream

    @property
    def buffer_bytes(self) -> int:
        hints = self.buffering_hints
        if hints.size_in_bytes is not None:
            return hints.size_in_bytes
        default = 128 if self.output_format == "parquet" else 5
        return (hints.size_in_mbs or default) * 1024 * 1024


class TableSpec(_Frozen):
    """A catalog table declared in config: a folder, file, glob or s3:// prefix of Parquet,
    JSON Lines or CSV files, queryable by name. One with ``columns`` (Flink SQL or Glue types)
    is also reference data that jobs can join."""

    name: str
    location: str
    format: Literal["parquet", "json", "csv"] | None = None  # default: from the file names
    columns: dict[str, str] = Field(default_factory=dict)
    partition_keys: dict[str, str] = Field(default_factory=dict)  # Hive-style k=v folders


DEFAULT_STREAMS: tuple[StreamSpec, ...] = (
    StreamSpec(
        name="sensor_readings",
        shards=2,
        time_field="event_time",
        key_field="device_id",
        columns=SENSOR_COLUMNS,
    ),
    StreamSpec(
        name="device_stats_1m",
        shards=2,
        time_field="window_start",
        key_field="device_id",
        columns=_stats_columns(),
    ),
    StreamSpec(
        name="device_anomaly_scores",
        shards=2,
        time_field="event_time",
        key_field="device_id",
        columns=_score_columns(),
    ),
)
DEFAULT_SUITES: tuple[SuiteSpec, ...] = (
    SuiteSpec(name="sensor_readings", table="sensor_readings"),
)
DEFAULT_JOBS: tuple[JobSpec, ...] = (
    JobSpec(name="device_stats_1m", file=str(DEMO_JOB)),
    JobSpec(name="device_anomaly_scores", file=str(DEMO_SCORING_JOB)),
)
# Tables are the project's own: this repository declares its reference data in its tidebox.yaml.
DEFAULT_TABLES: tuple[TableSpec, ...] = ()


def default_sink(stream: StreamSpec) -> SinkSpec:
    """The delivery stream tidebox gives a stream nobody declared one for: its records under
    ``<stream>/dt=YYYY-MM-DD/hour=HH/`` by event time (jq over the time field, which tidebox's
    streams carry as ISO-8601 UTC text), or by arrival time for a stream without a time field;
    failures under ``_errors/<stream>/<error-output-type>/``."""
    errors = f"_errors/{stream.name}/!{{firehose:error-output-type}}/!{{timestamp:yyyy/MM/dd/HH/}}"
    if stream.time_field is None:
        return SinkSpec(
            name=stream.name,
            stream=stream.name,
            prefix=f"{stream.name}/!{{timestamp:'dt='yyyy-MM-dd'/hour='HH}}/",
            error_output_prefix=errors,
        )
    field = stream.time_field
    return SinkSpec(
        name=stream.name,
        stream=stream.name,
        prefix=f"{stream.name}/dt=!{{partitionKeyFromQuery:dt}}/hour=!{{partitionKeyFromQuery:hour}}/",
        error_output_prefix=errors,
        dynamic_partitioning=DynamicPartitioning(
            partition_keys={"dt": f".{field}[0:10]", "hour": f".{field}[11:13]"}
        ),
    )


DEFAULT_SINKS: tuple[SinkSpec, ...] = tuple(default_sink(s) for s in DEFAULT_STREAMS)


class Settings(_Frozen):
    """Everything tidebox needs to know about where things run and what the streams look like."""

    # the folder of tidebox.yaml: jobs/, producers/, sinks/ and expectations/ are found there
    project_dir: Path = Path(".")
    state_dir: Path = Path(DEFAULT_STATE_DIR)
    bootstrap_servers: str | None = None
    kafka_port: int = Field(default=9092, ge=1, le=65534)
    bucket: Path | None = None
    flink_parallelism: int = Field(default=1, ge=1, le=256)
    flink_cluster: str | None = None
    flink_bootstrap_servers: str | None = None
    checkpoint_seconds: float = Field(default=60.0, ge=1)
    s3_endpoint: str | None = None
    # the local AWS endpoint (Kinesis and Firehose APIs) on 127.0.0.1; LocalStack's port, so
    # code written for LocalStack reaches it unchanged
    api_port: int = Field(default=4566, ge=1, le=65535)
    # Kinesis' per-shard write and read limits on the API's calls (off: no throttling)
    shard_limits: bool = True
    streams: tuple[StreamSpec, ...] = DEFAULT_STREAMS
    jobs: tuple[JobSpec, ...] = DEFAULT_JOBS
    sinks: tuple[SinkSpec, ...] = DEFAULT_SINKS
    tables: tuple[TableSpec, ...] = DEFAULT_TABLES
    suites: tuple[SuiteSpec, ...] = DEFAULT_SUITES

    @property
    def embedded(self) -> bool:
        """True when tidebox runs its own broker (no external Kafka configured)."""
        return not self.bootstrap_servers

    @property
    def kafka_bootstrap(self) -> str:
        return self.bootstrap_servers or f"127.0.0.1:{self.kafka_port}"

    @property
    def flink_kafka_bootstrap(self) -> str:
        """Kafka's address as Flink jobs reach it (inside a docker network it differs)."""
        return self.flink_bootstrap_servers or self.kafka_bootstrap

    @property
    def api_url(self) -> str:
        """Where boto3 (``endpoint_url=``) and the AWS CLI (``--endpoint-url``) reach tidebox."""
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def bucket_path(self) -> Path:
        return self.bucket if self.bucket is not None else self.state_dir / "bucket"

    def stream(self, name: str) -> StreamSpec | None:
        """The declared spec of a stream, or None for a stream tidebox knows no schema of."""
        return next((s for s in self.streams if s.name == name), None)

    def suite(self, name: str) -> SuiteSpec | None:
        return next((s for s in self.suites if s.name == name), None)

    def job(self, name: str) -> JobSpec | None:
        """A job declared in tidebox.yaml, else the project's ``jobs/NAME.sql`` or ``.py``."""
        declared = next((j for j in self.jobs if j.name == name), None)
        if declared is not None:
            return declared
        found = job_file(self.project_dir, name) if name and "/" not in name else None
        return JobSpec(name=name, file=str(found)) if found is not None else None

    def sink(self, name: str) -> SinkSpec | None:
        """A declared delivery stream, or the default one of a declared stream of that name."""
        declared = next((s for s in self.sinks if s.name == name), None)
        if declared is not None:
            return declared
        stream = self.stream(name)
        return default_sink(stream) if stream is not None else None


# Sections of tidebox.yaml that list named entries, merged with the built-in ones by name.
NAMED_SECTIONS: dict[str, tuple[Any, ...]] = {
    "streams": DEFAULT_STREAMS,
    "jobs": DEFAULT_JOBS,
    "sinks": DEFAULT_SINKS,
    "tables": DEFAULT_TABLES,
    "suites": DEFAULT_SUITES,
}


def read_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The TIDEBOX_* settings present in the environment, keyed by settings field name."""
    env = os.environ if environ is None else environ
    found = {}
    for suffix, field in ENV_FIELDS.items():
        value = env.get(ENV_PREFIX + suffix)
        if value not in (None, ""):
            found[field] = value
    return found


def read_config_file(path: Path) -> dict[str, Any]:
    """The raw mapping in a tidebox.yaml; an empty mapping when the file is absent."""
    return read_yaml_mapping(path) if path.exists() else {}


def created_sink_path(state_dir: Path, name: str) -> Path:
    """Where ``tidebox sink create`` keeps a delivery stream it created."""
    return state_dir / "sinks" / name / "spec.json"


def read_created_sinks(state_dir: Path) -> list[dict[str, Any]]:
    """The delivery streams created from the CLI (tidebox.yaml wins on a name clash)."""
    found = []
    for path in sorted((state_dir / "sinks").glob("*/spec.json")):
        try:
            found.append(json.loads(path.read_text()))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read created delivery stream: {exc}", str(path)) from exc
    return found


def _merge_named(defaults: tuple[Any, ...], given: list[Any] | None) -> list[Any]:
    """Declared streams/suites override defaults of the same name and add new ones."""
    merged: dict[str, Any] = {item.name: item.model_dump() for item in defaults}
    for item in given or []:
        if not isinstance(item, dict) or "name" not in item:
            raise ConfigError(f"every entry needs a name, got {item!r}")
        merged[item["name"]] = {**merged.get(item["name"], {}), **item}
    return list(merged.values())


def locate_config(config_path: str | Path | None, environ: Mapping[str, str]) -> tuple[Path, Path]:
    """The config file and the project folder: the file ``config_path`` or TIDEBOX_CONFIG
    names and its folder, else the nearest tidebox.yaml up from the working folder and its
    folder, else (no file) the working folder."""
    named = config_path or environ.get(ENV_PREFIX + "CONFIG")
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            raise ConfigError("config file not found", source=str(path))
        return path, path.resolve().parent
    project = find_project()
    if project is None:
        return Path(CONFIG_FILE), Path.cwd().resolve()
    return project / CONFIG_FILE, project


def _named_sections(
    file_values: Mapping[str, Any], path: Path, project_dir: Path
) -> tuple[dict[str, list[Any]], dict[str, Path]]:
    """Each named section: built-in entries, overridden and extended by the project's files
    (``sinks/*.yaml``; ``jobs/NAME.sql`` of a built-in job) and then by tidebox.yaml's entries,
    relative paths resolved. Also
    the sink files by the names they define (a name in both places is refused)."""
    sink_files = read_sink_files(project_dir)
    given_sinks = file_values.get("sinks") or []
    for item in given_sinks if isinstance(given_sinks, list) else []:
        name = item.get("name") if isinstance(item, dict) else None
        if isinstance(name, str) and name in sink_files:
            raise ConfigError(
                f"delivery stream '{name}' is defined both here and in {sink_files[name][0]}: "
                "keep one",
                source=str(path),
            )
    sections = {}
    for key, defaults in NAMED_SECTIONS.items():
        given = file_values.get(key)
        if key == "sinks":
            given = [entry for _, entry in sink_files.values()] + list(given_sinks)
        elif key == "jobs":  # the project's jobs/NAME.sql replaces a built-in job's file
            own = [(j.name, job_file(project_dir, j.name)) for j in DEFAULT_JOBS]
            given = [{"name": n, "file": str(f)} for n, f in own if f] + list(given or [])
        merged = _merge_named(defaults, given)
        sections[key] = [resolve_paths(key, entry, project_dir) for entry in merged]
    return sections, {name: file for name, (file, _) in sink_files.items()}


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    config_path: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Build the settings from all sources, with CLI ``overrides`` winning over everything.

    The project folder is that of the config file (see :func:`locate_config`); tidebox.yaml's
    relative paths, and the default state folder, are resolved against it.
    """
    env_values = read_environment(environ)
    env = os.environ if environ is None else environ
    path, project_dir = locate_config(config_path, env)
    file_values = read_config_file(path)
    if "project_dir" in file_values:
        raise ConfigError("project_dir is the folder of this file; it cannot be set", str(path))
    for key in ("state_dir", "bucket"):
        if isinstance(file_values.get(key), str):
            file_values = {**file_values, key: in_project(project_dir, file_values[key])}
    cli_values = {k: v for k, v in (overrides or {}).items() if v is not None}

    values: dict[str, Any] = {
        "state_dir": project_dir / DEFAULT_STATE_DIR,
        **file_values,
        **env_values,
        **cli_values,
        "project_dir": project_dir,
    }
    sections, sink_files = _named_sections(file_values, path, project_dir)
    values.update(sections)
    declared = {s["name"] for s in values["sinks"]}
    created = read_created_sinks(Path(values["state_dir"]))
    values["sinks"] += [s for s in created if s.get("name") not in declared]
    try:
        return Settings(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = first["loc"]
        field = str(loc[0]) if loc else ""
        where = ".".join(str(p) for p in loc)
        if field in cli_values:
            source = "command line"
        elif field in env_values:
            source = ENV_PREFIX + {v: k for k, v in ENV_FIELDS.items()}[field]
        elif field == "sinks" and len(loc) > 1 and isinstance(loc[1], int):
            name = values["sinks"][loc[1]].get("name")
            source = str(sink_files.get(name, path))
        else:
            source = str(path)
        raise ConfigError(f"{where}: {first['msg']}", source=source) from exc
