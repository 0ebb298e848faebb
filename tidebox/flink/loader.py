"""One job loader for ``job run`` and the test harness: a job file becomes its complete plan.

A job (a SQL file, SQL text, or a Python module with ``build(env[, params])``) is read and
planned once: which streams it reads and writes, the reference tables it joins, where its
late records go. :func:`job_script` turns that into the statements to run (SET, reference
tables, source and sink tables, the job's own statements, the routing of late records) and
:func:`add_job` runs the DDL and puts every INSERT (and a Python job's outputs) into one
statement set.

Only the tables differ between a run and a test: :class:`Tables` declares each stream. The
runner binds them to Kafka topics; the harness binds sources to rows in files and sinks to
folders it reads back. The statement set, the DDL around it and the late routing are the same.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from tidebox.core.errors import JobError, TideboxError
from tidebox.core.settings import JobSpec, Settings, StreamSpec, TableSpec
from tidebox.flink.ddl import INSERT_PARTS, JobPlan, plan_job
from tidebox.flink.environment import JOB_OPTIONS, make_table_env
from tidebox.flink.filetables import reference_tables
from tidebox.flink.functions import (
    add_functions_jar,
    calls_functions,
    function_statements,
    needs_jar,
)
from tidebox.flink.kda.job import ARRIVAL, KdaBinding, is_kda_application, kda_plan
from tidebox.flink.kinesis_calls import has_cursor_call, rewrite
from tidebox.flink.late import (
    INNER_SUFFIX,
    LATE_SUFFIX,
    late_insert,
    late_stream_spec,
    on_time_view,
    routed_sources,
    uses_event_time,
)
from tidebox.flink.pyjob import (
    Build,
    build_function,
    call_build,
    is_python_job,
    python_sources,
    python_uses_event_time,
)

_SET = re.compile(r"^\s*SET\s+'([^']+)'\s*=\s*'([^']*)'\s*$", re.IGNORECASE)


class Tables(Protocol):
    """Where a job's streams and reference tables live: each method returns a CREATE TABLE."""

    def source(self, spec: StreamSpec, table: str, arrival: str | None = None) -> str:
        """A source stream, declared as ``table`` (its own name, or ``<stream>__all``);
        ``arrival`` names a column that holds each record's arrival time (a KDA
        application's ROWTIME), read from the broker where there is one."""
        ...

    def sink(self, spec: StreamSpec) -> str:
        """A sink stream (the late stream too)."""
        ...

    def reference(self, table: TableSpec) -> str:
        """A reference table the job joins."""
        ...

    def create_sink(self, spec: StreamSpec) -> None:
        """Make a sink exist that is known only once Flink has planned the job (a stream no
        spec declares, or a Python job's output)."""
        ...

    def check_sources(self, job: str, names: list[str]) -> None:
        """Raise when a source has nothing to read."""
        ...


@dataclass(frozen=True)
class Job:
    """A job read and planned: what it reads and writes, and where its late records go."""

    name: str
    origin: str  # the job file, or "SQL text": how errors name the job
    text: str
    plan: JobPlan
    references: tuple[TableSpec, ...]
    build: Build | None = None  # a Python job's build()
    late_stream: str | None = None  # None: no late records to route
    arrival: str | None = None  # the sources' arrival-time column (a KDA application's)

    @property
    def late_spec(self) -> StreamSpec | None:
        return late_stream_spec(self.late_stream) if self.late_stream else None


def resolve_job(settings: Settings, job: str | Path) -> tuple[Path, JobSpec | None]:
    """A job file path, or the name of a job declared in tidebox.yaml (a file path wins)."""
    path = Path(job)
    spec = settings.job(str(job))
    if spec is not None and not path.is_file():
        return Path(spec.file), spec
    return path, None


def job_name_of(path: Path) -> str:
    return re.sub(r"[^\w-]", "_", path.stem)


def read_job(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as exc:
        raise JobError(str(path), f"cannot read the job file: {exc.strerror or exc}") from exc


def load_job(
    settings: Settings,
    path: Path,
    name: str | None = None,
    late_stream: str | None = None,
    kda: KdaBinding | None = None,
) -> Job:
    """Read and plan a job file: SQL, Python, or a Kinesis Data Analytics SQL application
    (bound to tidebox's streams by ``kda``). ``late_stream``: None for ``<job>_late``, "" to
    let Flink drop late records."""
    text = read_job(path)
    build = build_function(path) if is_python_job(path) else None
    job_name = name or job_name_of(path)
    return _planned(settings, text, job_name, str(path), build, late_stream, kda, path)


def load_sql(
    settings: Settings,
    text: str,
    name: str,
    late_stream: str | None = None,
    kda: KdaBinding | None = None,
) -> Job:
    """Plan a job given as SQL text (Flink's, or a KDA application's)."""
    return _planned(settings, text, name, "SQL text", None, late_stream, kda)


def _planned(
    settings: Settings,
    text: str,
    name: str,
    origin: str,
    build: Build | None,
    wanted: str | None,
    kda: KdaBinding | None = None,
    path: Path | None = None,
) -> Job:
    binding = kda or KdaBinding()
    arrival = None
    if build is None and is_kda_application(path, text, binding.dialect):
        plan = kda_plan(settings, text, origin, binding)
        event_time, arrival = True, ARRIVAL
    elif build is None:
        plan = plan_job(text, settings)
        event_time = uses_event_time(plan.statements)
    else:
        plan = JobPlan((), python_sources(text, settings), ())
        event_time = python_uses_event_time(text)
    late = None
    if wanted != "" and event_time and routed_sources(plan.sources):
        late = wanted or f"{name}{LATE_SUFFIX}"
    references = tuple(reference_tables(text, settings))
    return Job(name, origin, text, plan, references, build, late, arrival)


def check_writes(job: Job) -> None:
    """A SQL job must INSERT somewhere, or it would run and write nothing."""
    if job.build is None and not any(INSERT_PARTS.match(s) for s in job.plan.statements):
        raise JobError(
            job.origin, "the job file has no INSERT INTO statement: nothing would be written"
        )


def prepare(job: Job, tables: Tables) -> None:
    """The checks and sinks a run needs before Flink starts, the same for ``job run`` and the
    harness: a SQL job's sources have something to read and it writes somewhere (a Python
    job's sources are checked once build() said which are outputs); every sink the plan
    names, and the late stream, exists."""
    if job.build is None:
        tables.check_sources(job.origin, [spec.name for spec in job.plan.sources])
        check_writes(job)
    late = job.late_spec
    for spec in (*job.plan.sinks, *([late] if late else [])):
        tables.create_sink(spec)


@contextmanager
def flink_errors(origin: str) -> Iterator[None]:
    """Let tidebox's own errors through; turn anything else raised while Flink plans or runs
    the job (PyFlink wraps Java errors in many exception types) into a one-line JobError."""
    try:
        yield
    except TideboxError:
        raise
    except Exception as exc:
        raise JobError(origin, flink_message(exc)) from exc


def job_script(job: Job, tables: Tables) -> list[str]:
    """SET, reference tables, source and sink tables, the job's own statements, then the
    routing of late records: each routed source is declared as ``<stream>__all`` under a view
    of its on-time records, and its late ones go to the late stream."""
    statements = [f"SET '{k}' = '{v}'" for k, v in JOB_OPTIONS.items()]
    # a KDA application's text is KDA SQL: its translation names the functions it calls
    if calls_functions(job.text) or any(calls_functions(s) for s in job.plan.statements):
        statements += function_statements()
    statements += [tables.reference(table) for table in job.references]
    routed = routed_sources(job.plan.sources) if job.late_stream else []
    for spec in job.plan.sources:
        if spec in routed:
            statements.append(tables.source(spec, spec.name + INNER_SUFFIX, job.arrival))
            statements.append(on_time_view(spec))
        else:
            statements.append(tables.source(spec, spec.name, job.arrival))
    late = job.late_spec
    statements += [tables.sink(s) for s in (*job.plan.sinks, *([late] if late else []))]
    statements += list(job.plan.statements)
    return statements + [late_insert(spec, job.late_stream) for spec in routed if job.late_stream]


def add_job(
    env: Any,
    statement_set: Any,
    job: Job,
    script: list[str],
    tables: Tables,
    settings: Settings,
    params: dict[str, str] | None = None,
) -> list[StreamSpec]:
    """Run the script's SET and DDL in ``env``, put its INSERTs (and a Python job's outputs)
    into ``statement_set``; return the specs of the job's sink streams (not the late one).

    A job that calls tidebox's functions or writes a sink routed by its partitioner gets
    tidebox's jar (built once, then cached); a job that does neither (any on the harness's
    file tables) does not pay for it."""
    sinks = list(job.plan.sinks)
    if needs_jar([job.text, *script]):  # a Python job's text names the functions it calls
        add_functions_jar(env, settings)
    views = _CursorViews(env)
    for statement in script:
        if has_cursor_call(statement):
            statement = rewrite(statement, job.origin, views.define)
        setting = _SET.match(statement)
        insert = INSERT_PARTS.match(statement)
        if setting:  # executeSql() takes no SET: it is the SQL client's session command
            env.get_config().set(setting.group(1), setting.group(2))
        elif insert:
            sink = insert.group(1)
            if sink in job.plan.undeclared_sinks and sink not in {s.name for s in sinks}:
                names = [n.strip().strip("`") for n in (insert.group(2) or "").split(",") if n]
                spec = derived_spec(env.sql_query(insert.group(3)), sink, names)
                tables.create_sink(spec)
                _declare_sink(env, tables.sink(spec), settings)
                sinks.append(spec)
            statement_set.add_insert_sql(statement)
        else:
            env.execute_sql(statement)
    if job.build is not None:
        sinks += _add_outputs(env, statement_set, job, job.build, tables, settings, params)
    return sinks


def _declare_sink(env: Any, ddl: str, settings: Settings) -> None:
    """Run the CREATE TABLE of a sink known only once Flink planned the job (keyed by
    ``device_id``, it is routed by the partitioner: the job then needs tidebox's jar)."""
    if needs_jar([ddl]):
        add_functions_jar(env, settings)
    env.execute_sql(ddl)


class _CursorViews:
    """Creates the temporary views that stand for Kinesis Analytics cursors in a job, and
    keeps their DDL."""

    def __init__(self, env: Any) -> None:
        self.env = env
        self.statements: list[str] = []

    def define(self, query: str) -> tuple[str, list[tuple[str, str]]]:
        name = f"__rcf_cursor_{len(self.statements) + 1}"
        statement = f"CREATE TEMPORARY VIEW `{name}` AS {query}"
        self.env.execute_sql(statement)
        self.statements.append(statement)
        schema = self.env.from_path(name)._j_table.getResolvedSchema()
        return name, [(str(c.getName()), str(c.getDataType())) for c in schema.getColumns()]


def expand_cursor_calls(script: list[str], origin: str, settings: Settings) -> list[str]:
    """``script`` with Kinesis-style cursor calls rewritten and their views declared before
    them, as plain Flink SQL. Planning the views needs the tables they read: the script's
    DDL runs in a table environment of its own (nothing is read or run)."""
    if not any(has_cursor_call(statement) for statement in script):
        return script
    env, _ = make_table_env(settings, "render", 1)
    views = _CursorViews(env)
    expanded = []
    with flink_errors(origin):
        for statement in script:
            if has_cursor_call(statement):
                before = len(views.statements)
                statement = rewrite(statement, origin, views.define)
                expanded += views.statements[before:]
            elif not _SET.match(statement) and not INSERT_PARTS.match(statement):
                env.execute_sql(statement)
            expanded.append(statement)
    return expanded


def _add_outputs(
    env: Any,
    statement_set: Any,
    job: Job,
    build: Build,
    tables: Tables,
    settings: Settings,
    params: dict[str, str] | None,
) -> list[StreamSpec]:
    """Call a Python job's ``build``; declare the stream of each table it returned and write
    the table there."""
    outputs = call_build(build, env, Path(job.origin), params)
    read = [s.name for s in job.plan.sources]
    specs = []
    for sink, table in outputs.items():
        if sink in read:  # the module named it, so it was declared as a source: redeclare it
            env.execute_sql(f"DROP TABLE IF EXISTS `{sink}`")
        spec = settings.stream(sink) or derived_spec(table, sink, [])
        tables.create_sink(spec)
        _declare_sink(env, tables.sink(spec), settings)
        statement_set.add_insert(sink, table)
        specs.append(spec)
    tables.check_sources(job.origin, [name for name in read if name not in outputs])
    return specs


def flink_message(exc: BaseException) -> str:
    """The useful first line of a Flink/Java exception, without the Java stack trace."""
    text = str(exc)
    causes = re.findall(r"ValidationException: (.+)", text)
    if causes and "Invalid function call:" in causes[0] and len(causes) > 1:
        return causes[-1].strip()  # a function's own check says what is wrong with the call
    markers = ("SqlParserException:", "ValidationException:", "TableException:",
               "CalciteContextException:")  # fmt: skip
    for marker in markers:
        if marker in text:
            text = text.split(marker, 1)[1]
            break
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    lines = [ln for ln in lines if not ln.startswith(("at ", "Caused by", "py4j", "org.apache"))]
    if not lines:
        return type(exc).__name__
    return re.sub(r"^(.+?\. )\1+", r"\1", lines[0])  # Flink repeats its own prefix


def derived_spec(table: Any, sink: str, names: list[str]) -> StreamSpec:
    """The spec of a sink stream no spec declares: the table's own columns (renamed to
    ``names`` if given), keyed by ``device_id`` when it has that column."""
    columns = {}
    for column in table._j_table.getResolvedSchema().getColumns():
        data_type = str(column.getDataType())
        for marker in (" *ROWTIME*", " *PROCTIME*", " NOT NULL"):
            data_type = data_type.replace(marker, "")
        columns[str(column.getName())] = data_type
    if names:  # INSERT INTO sink (a, b, ...) names the columns
        columns = dict(zip(names, columns.values(), strict=True))
    key = "device_id" if columns.get("device_id") == "STRING" else None
    return StreamSpec(name=sink, key_field=key, columns=columns)
