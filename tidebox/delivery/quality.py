"""Data quality on delivery: a delivery stream that names a DQDL ruleset (``ruleset:`` in its
spec) evaluates it on each Parquet object it delivers, as Glue Data Quality runs in an ETL job.

Each object is checked on its own (a DuckDB view over its one file, not the whole table), after
its flush is committed: the records are delivered whatever the rules say. The result is
recorded in the destination, beside the delivery state:

- ``_tidebox/quality/<name>/<object file name>.json``: Glue's GetDataQualityResult document
  for that object (with ``Object`` naming it), or ``{"Object": ..., "Error": ...}`` when the
  ruleset could not run at all (no such ruleset, a file DuckDB cannot read);
- ``_tidebox/quality/<name>/latest.json``: the totals (objects checked, passed, failed,
  errors) and the latest object's outcome, which ``tidebox sink status`` shows.

Nothing here raises: a failing rule, an erroring rule or a ruleset that cannot run is recorded,
and delivery goes on. A process stopped between a flush and its check leaves that object
unchecked (the check is not part of the exactly-once commit).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from tidebox.core.settings import Settings, SinkSpec
from tidebox.core.stores import Store
from tidebox.delivery.objects import DeliveredObject

QUALITY_ROOT = "_tidebox/quality"


@dataclass(frozen=True)
class ObjectQuality:
    """One delivered object's check: PASS (every rule passed), FAIL (some rule did not pass)
    or ERROR (the ruleset could not run); the rules passed of all, and why not all."""

    key: str
    result: str
    rules_passed: int
    rules: int
    score: float
    message: str


@dataclass(frozen=True)
class QualitySummary:
    """What ``latest.json`` holds: a delivery stream's checks so far, and the latest one."""

    ruleset: str
    checked: int
    passed: int
    failed: int
    errors: int
    latest: ObjectQuality | None


def quality_folder(name: str) -> str:
    """Where delivery stream ``name`` records its checks, in its destination."""
    return f"{QUALITY_ROOT}/{name}"


def check_delivered(
    settings: Settings, spec: SinkSpec, store: Store, objects: Sequence[DeliveredObject]
) -> list[ObjectQuality]:
    """Run ``spec.ruleset`` on each data object of ``objects`` and record the results; return
    them (none without a ruleset)."""
    if spec.ruleset is None:
        return []
    checks = [_check(settings, spec, store, o) for o in objects if o.kind == "data"]
    if checks:
        _record_summary(store, spec, checks)
    return checks


def read_summary(store: Store, name: str) -> QualitySummary | None:
    """The recorded totals of delivery stream ``name``'s checks, None before the first."""
    try:
        raw = store.get(f"{quality_folder(name)}/latest.json")
        if raw is None:
            return None
        data = json.loads(raw)
        latest = data.get("latest")
        return QualitySummary(
            ruleset=str(data["ruleset"]),
            checked=int(data["checked"]),
            passed=int(data["passed"]),
            failed=int(data["failed"]),
            errors=int(data["errors"]),
            latest=ObjectQuality(**latest) if latest else None,
        )
    except (ValueError, KeyError, TypeError):
        return None  # a torn or foreign file: no summary rather than no status


def forget_quality(store: Store, name: str) -> int:
    """Delete delivery stream ``name``'s recorded checks; return how many files."""
    keys = [key for key, _ in store.list(quality_folder(name) + "/")]
    for key in keys:
        store.delete(key)
    return len(keys)


def _check(settings: Settings, spec: SinkSpec, store: Store, obj: DeliveredObject) -> ObjectQuality:
    from tidebox.quality.dqdl.evaluate import run_ruleset_on_file
    from tidebox.quality.results import result_document

    assert spec.ruleset is not None
    document: dict[str, Any]
    try:
        result = run_ruleset_on_file(settings, spec.ruleset, store.uri(obj.key), spec.name)
        document = {"Object": obj.key, **result_document(result)}
        failing = [f"{r.name} {r.result}: {r.evaluated_rule}" for r in result.rules
                   if r.result != "PASS"]  # fmt: skip
        check = ObjectQuality(
            key=obj.key,
            result="PASS" if result.passed else "FAIL",
            rules_passed=result.count("PASS"),
            rules=len(result.rules),
            score=result.score,
            message="; ".join(failing),
        )
    except Exception as exc:  # recorded: delivery must go on whatever happens
        message = f"{type(exc).__name__}: {exc}"
        document = {"Object": obj.key, "RulesetName": spec.ruleset, "Error": message}
        check = ObjectQuality(obj.key, "ERROR", 0, 0, 0.0, message)
    name = obj.key.rsplit("/", 1)[-1]
    _put(store, f"{quality_folder(spec.name)}/{name}.json", document)
    return check


def _record_summary(store: Store, spec: SinkSpec, checks: list[ObjectQuality]) -> None:
    before = read_summary(store, spec.name)
    summary = {
        "ruleset": spec.ruleset,
        "checked": (before.checked if before else 0) + len(checks),
        "passed": (before.passed if before else 0) + sum(c.result == "PASS" for c in checks),
        "failed": (before.failed if before else 0) + sum(c.result == "FAIL" for c in checks),
        "errors": (before.errors if before else 0) + sum(c.result == "ERROR" for c in checks),
        "latest": asdict(checks[-1]),
    }
    _put(store, f"{quality_folder(spec.name)}/latest.json", summary)


def _put(store: Store, key: str, document: dict[str, Any]) -> None:
    # a result that cannot be written must not stop delivery either
    with contextlib.suppress(Exception):
        store.put(key, json.dumps(document, indent=2, default=str).encode())
