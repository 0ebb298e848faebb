"""tidebox's own SQL functions, registered in every job that calls them.

``RANDOM_CUT_FOREST`` and ``RANDOM_CUT_FOREST_WITH_EXPLANATION`` are Java process table
functions (``tidebox/java/io/tidebox/flink``): Flink runs them in its own operators, keeps their
state in checkpoints and savepoints, and calls them from SQL like any built-in table function.
A job that names one gets the functions' jar (built once, see
:mod:`tidebox.runtime.functions_jar`) and a ``CREATE TEMPORARY SYSTEM FUNCTION`` for each.
"""

from __future__ import annotations

import re
from typing import Any

from tidebox.core.settings import Settings
from tidebox.runtime.functions_jar import functions_jar

FUNCTIONS = {
    "RANDOM_CUT_FOREST": "io.tidebox.flink.RandomCutForestFunction",
    "RANDOM_CUT_FOREST_WITH_EXPLANATION": "io.tidebox.flink.RandomCutForestWithExplanationFunction",
}
_CALLED = re.compile(r"\bRANDOM_CUT_FOREST(?:_WITH_EXPLANATION)?\b", re.IGNORECASE)


def uses_functions(text: str) -> bool:
    """True if a job's text names one of tidebox's functions."""
    return bool(_CALLED.search(text))


def function_statements(jar: str | None = None) -> list[str]:
    """The statements that make the functions callable in a job's SQL; with ``jar`` (a URI)
    they load the functions' jar themselves, as a script for Flink's SQL client must."""
    using = f" USING JAR '{jar}'" if jar else ""
    return [
        f"CREATE TEMPORARY SYSTEM FUNCTION IF NOT EXISTS {name} AS '{cls}' LANGUAGE JAVA{using}"
        for name, cls in FUNCTIONS.items()
    ]


def self_contained(script: list[str], settings: Settings) -> list[str]:
    """``script`` with its function statements loading the functions' jar (built if need be),
    for a script that runs outside tidebox."""
    plain = function_statements()
    if not any(statement in plain for statement in script):
        return script
    jar = functions_jar(settings.state_dir).as_uri()
    loading = dict(zip(plain, function_statements(jar), strict=True))
    return [loading.get(statement, statement) for statement in script]


def add_functions_jar(env: Any, settings: Settings) -> None:
    """Put the functions' jar on the job's ``pipeline.jars``: loaded for planning here, and
    shipped with the job to a cluster."""
    config = env.get_config()
    jars = [j for j in (config.get("pipeline.jars", "") or "").split(";") if j]
    jar = functions_jar(settings.state_dir).as_uri()
    if jar not in jars:
        config.set("pipeline.jars", ";".join([*jars, jar]))
