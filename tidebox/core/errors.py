"""The one error root of tidebox.

Every failure a user can cause (bad input, an unreachable broker, a job with a SQL error)
is raised as a subclass of :class:`TideboxError`. The CLI prints ``str(error)`` on one line
and exits non-zero; Python callers can catch the subclass and read its fields.
"""

from __future__ import annotations


class TideboxError(Exception):
    """Root of every error tidebox raises on purpose."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(TideboxError):
    """The settings (tidebox.yaml, TIDEBOX_* variables or CLI options) are invalid."""

    def __init__(self, message: str, source: str | None = None) -> None:
        super().__init__(f"{source}: {message}" if source else message)
        self.source = source


class InputFileError(TideboxError):
    """An input file is missing, unreadable or holds a row tidebox cannot use."""

    def __init__(self, path: str, problem: str, line: int | None = None) -> None:
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {problem}")
        self.path = path
        self.problem = problem
        self.line = line


class KafkaUnavailableError(TideboxError):
    """No Kafka broker answers at the configured address."""

    def __init__(self, bootstrap_servers: str, hint: str = "") -> None:
        text = f"Kafka is not reachable at {bootstrap_servers}"
        super().__init__(f"{text} ({hint})" if hint else text)
        self.bootstrap_servers = bootstrap_servers


class StreamNotFoundError(TideboxError):
    """A command names a stream (Kafka topic) that does not exist."""

    def __init__(self, name: str) -> None:
        super().__init__(f"unknown stream '{name}' (see 'tidebox stream list')")
        self.name = name


class StreamExistsError(TideboxError):
    """``stream create`` names a stream that already exists."""

    def __init__(self, name: str) -> None:
        super().__init__(f"stream '{name}' already exists")
        self.name = name


class RuntimeStartError(TideboxError):
    """The embedded runtime (Maven fetch, Kafka broker) could not be started."""


class JobError(TideboxError):
    """A Flink job could not be planned or failed while running."""

    def __init__(self, job: str, problem: str) -> None:
        super().__init__(f"job {job}: {problem}")
        self.job = job
        self.problem = problem


class TableNotFoundError(TideboxError):
    """A query, check or catalog command names a table the catalog does not hold."""

    def __init__(self, name: str, known: list[str]) -> None:
        listing = ", ".join(known) if known else "none yet"
        super().__init__(f"unknown table '{name}' (catalog tables: {listing})")
        self.name = name
        self.known = known


class QueryError(TideboxError):
    """DuckDB rejected a query."""


class CheckFailedError(TideboxError):
    """A Great Expectations suite (or a DQDL ruleset) ran and at least one expectation (rule)
    failed or could not be evaluated."""

    def __init__(self, suite: str, failed: list[str], kind: str = "suite") -> None:
        what = "expectation(s) failed" if kind == "suite" else "rule(s) did not pass"
        super().__init__(f"{kind} {suite}: {len(failed)} {what}: {', '.join(failed)}")
        self.suite = suite
        self.failed = failed


class ProjectExistsError(TideboxError):
    """``tidebox init`` would overwrite a file: it writes only new files."""

    def __init__(self, path: str, others: int = 0) -> None:
        more = f" (and {others} other file(s) it would write)" if others else ""
        super().__init__(
            f"{path} already exists{more}: tidebox init overwrites nothing; "
            "choose a new or empty folder"
        )
        self.path = path


class PlacedError(TideboxError):
    """A problem at a place in a file the user wrote; the message starts with that place
    (``source:line:column``), as compilers write it."""

    def __init__(self, source: str, line: int, column: int, problem: str) -> None:
        super().__init__(f"{source}:{line}:{column}: {problem}")
        self.source = source
        self.line = line
        self.column = column
        self.problem = problem


class DqdlSyntaxError(PlacedError):
    """A DQDL ruleset is malformed."""


class KdaSqlError(PlacedError):
    """A Kinesis Data Analytics SQL application cannot run: malformed, or a construct tidebox
    does not translate; the message names the construct, before any job starts."""


class DqdlRuleError(TideboxError):
    """One DQDL rule cannot be evaluated (a column that does not exist, a type its condition
    cannot compare, SQL that DuckDB rejects, a rule type not supported yet): that rule's
    outcome is ERROR with this message, and the rest of the ruleset still runs."""


class QualityHistoryError(TideboxError):
    """A data-quality run cannot be recorded or read back as asked (a bad score, count or
    metric value)."""


class DynamicValueUnavailable(TideboxError):
    """A dynamic rule's expression cannot be computed from the earlier runs there are.

    ``kind`` is ``"no_history"`` (no earlier run holds the metric: Glue's first run) or
    ``"index"`` (``index(last(k), i)`` asks for a run further back than there are);
    ``available`` is how many earlier values there were. The evaluator turns it into the
    rule's outcome (see :mod:`tidebox.quality.dqdl.dynamic`)."""

    def __init__(self, kind: str, available: int, problem: str) -> None:
        super().__init__(problem)
        self.kind = kind
        self.available = available


class OutputFileError(TideboxError):
    """An output file cannot be written: a format tidebox does not write, or a failed write."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem
