"""tidebox's own Java classes in a job: SQL functions, and the partitioner of keyed sinks.

``RANDOM_CUT_FOREST``, ``RANDOM_CUT_FOREST_WITH_EXPLANATION`` and ``KDA_STAGGER`` (the rows
of KDA SQL's stagger windows) are Java process table functions
(``tidebox/java/io/tidebox/flink``): Flink runs them in its own operators, keeps their state in
checkpoints and savepoints, and calls them from SQL like any built-in table function.
A job that names one gets the functions' jar (built once, see
:mod:`tidebox.runtime.functions_jar`) and a ``CREATE TEMPORARY SYSTEM FUNCTION`` for each.

``KinesisPartitioner`` routes a keyed Kafka sink's records to the shard Kinesis would (see
:mod:`tidebox.streams.shards`); a job whose tables name it gets the same jar.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from tidebox.core.settings import Settings
from tidebox.runtime.functions_jar import functions_jar

FUNCTIONS = {
    "RANDOM_CUT_FOREST": "io.tidebox.flink.RandomCutForestFunction",
    "RANDOM_CUT_FOREST_WITH_EXPLANATION": "io.tidebox.flink.RandomCutForestWithExplanationFunction",
    # KDA's stagger windows (tidebox.flink.kda.stagger)
    "KDA_STAGGER": "io.tidebox.flink.KdaStaggerFunction",
}
_CALLED = re.compile(r"\b(?:RANDOM_CUT_FOREST(?:_WITH_EXPLANATION)?|KDA_STAGGER)\b", re.IGNORECASE)
# KDA SQL's scalar functions whose meaning Flink's built-ins do not have (see
# tidebox.flink.kda.functions): plain scalars, no event time
SCALARS = {
    "KDA_INITCAP": "io.tidebox.flink.KdaInitcap",
    "KDA_REGEX_REPLACE": "io.tidebox.flink.KdaRegexReplace",
}
_SCALAR_CALLED = re.compile(r"\bKDA_(?:INITCAP|REGEX_REPLACE)\b", re.IGNORECASE)
# the Kafka sink partitioner that routes by partition key as Kinesis does ('sink.partitioner')
PARTITIONER = "io.tidebox.flink.KinesisPartitioner"


def uses_functions(text: str) -> bool:
    """True if a job's text names one of tidebox's functions."""
    return bool(_CALLED.search(text))


def calls_functions(text: str) -> bool:
    """True if a job's text (or one of its statements) calls any of tidebox's functions."""
    return uses_functions(text) or bool(_SCALAR_CALLED.search(text))


def uses_partitioner(statements: Iterable[str]) -> bool:
    """True if a statement (a sink's CREATE TABLE) routes records with tidebox's partitioner."""
    return any(PARTITIONER in statement for statement in statements)


def needs_jar(statements: Iterable[str]) -> bool:
    """True if the statements load a class of tidebox's jar: call a function, or declare a
    sink routed by the partitioner."""
    return any(calls_functions(s) or uses_partitioner([s]) for s in statements)


def function_statements(jar: str | None = None) -> list[str]:
    """The statements that make the functions callable in a job's SQL; with ``jar`` (a URI)
    they load the functions' jar themselves, as a script for Flink's SQL client must."""
    using = f" USING JAR '{jar}'" if jar else ""
    return [
        f"CREATE TEMPORARY SYSTEM FUNCTION IF NOT EXISTS {name} AS '{cls}' LANGUAGE JAVA{using}"
        for name, cls in {**FUNCTIONS, **SCALARS}.items()
    ]


def self_contained(script: list[str], settings: Settings) -> list[str]:
    """``script`` loading tidebox's jar (built if need be) itself, for a script that runs
    outside tidebox: its function statements with ``USING JAR``, and an ``ADD JAR`` before the
    first table routed by the partitioner (the connector loads that class from the session's
    jars when it plans the sink)."""
    plain = function_statements()
    calls, routes = any(s in plain for s in script), uses_partitioner(script)
    if not calls and not routes:
        return script
    jar = functions_jar(settings.state_dir).as_uri()
    loading = dict(zip(plain, function_statements(jar), strict=True))
    loaded = [loading.get(statement, statement) for statement in script]
    if routes:
        first = next(i for i, s in enumerate(loaded) if uses_partitioner([s]))
        loaded.insert(first, f"ADD JAR '{jar}'")
    return loaded


def add_functions_jar(env: Any, settings: Settings) -> None:
    """Put the functions' jar on the job's ``pipeline.jars``: loaded for planning here, and
    shipped with the job to a cluster."""
    config = env.get_config()
    jars = [j for j in (config.get("pipeline.jars", "") or "").split(";") if j]
    jar = functions_jar(settings.state_dir).as_uri()
    if jar not in jars:
        config.set("pipeline.jars", ";".join([*jars, jar]))
