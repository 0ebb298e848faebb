"""Run a Great Expectations suite file against a pandas frame of landed rows.

Suites are JSON files in GE 1.x's own ExpectationSuite shape
(``{"name": ..., "expectations": [{"type": "expect_...", "kwargs": {...}}], "meta": {...}}``).
They run through GE's pandas data source in a throwaway ephemeral context. A failed expectation
is reported in the :class:`CheckResult`, never raised: the caller decides what failing means.
"""

from __future__ import annotations

import inspect
import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tidebox.core.errors import ConfigError
from tidebox.quality.results import QualityResult, RuleResult
from tidebox.templates import DEMO_SUITES

if TYPE_CHECKING:
    import pandas as pd
    from great_expectations.core import ExpectationSuite

_SUITE_KEYS = {"name", "expectations", "suite_parameters", "meta", "notes", "id"}


@dataclass(frozen=True)
class ExpectationOutcome:
    """How one expectation of a suite fared."""

    expectation: str
    column: str | None
    success: bool
    detail: str
    # the expectation raised instead of judging (a missing column, a bad argument)
    errored: bool = False
    # the numbers GE reported (observed_value, unexpected_count, element_count, ...)
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """The expectation type with its column, e.g. ``expect_x(device_id)``."""
        return f"{self.expectation}({self.column})" if self.column else self.expectation


@dataclass(frozen=True)
class CheckResult:
    """The outcome of running one suite over one frame."""

    suite: str
    rows: int
    outcomes: tuple[ExpectationOutcome, ...]

    @property
    def success(self) -> bool:
        return all(o.success for o in self.outcomes)

    @property
    def failed(self) -> list[str]:
        return [o.label for o in self.outcomes if not o.success]

    def as_quality_result(
        self, table: str, started: datetime, completed: datetime
    ) -> QualityResult:
        """The run in Glue Data Quality's shape: a rule per expectation, in suite order; an
        expectation that raised is an ERROR, as a DQDL rule that cannot run is."""
        rules = tuple(
            RuleResult(
                name=f"Rule_{n}",
                description=o.label,
                result="ERROR" if o.errored else ("PASS" if o.success else "FAIL"),
                evaluation_message="" if o.success else o.detail,
                evaluated_metrics=dict(o.metrics),
            )
            for n, o in enumerate(self.outcomes, start=1)
        )
        return QualityResult(
            ruleset=self.suite,
            table=table,
            started=started,
            completed=completed,
            rules=rules,
            kind="great_expectations",
        )


def suite_path(name: str, folder: Path | None = None) -> Path:
    """The file of suite ``name`` (``<name>.json`` in ``folder``, default expectations/)."""
    path = (folder if folder is not None else DEMO_SUITES) / f"{name}.json"
    if not path.is_file():
        raise ConfigError(f"no suite file for suite '{name}'", source=str(path))
    return path


def _gx() -> Any:
    """Import great_expectations quietly (it is heavy, so only when a suite is used)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations

    return great_expectations


def _one_line(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):  # pydantic: name the first offending field
        try:
            first = errors()[0]
            return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
        except (TypeError, IndexError, KeyError):
            pass
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def load_suite(path: Path) -> ExpectationSuite:
    """Read a suite file; any problem with it is a :class:`ConfigError` of one line."""
    try:
        data = json.loads(Path(path).read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read suite: {exc.strerror or exc}", source=str(path)) from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"invalid JSON: {exc}", source=str(path)) from exc
    if not isinstance(data, dict):
        raise ConfigError("a suite must be a JSON object", source=str(path))
    if not isinstance(data.get("name"), str) or not data["name"]:
        raise ConfigError("the suite needs a non-empty 'name'", source=str(path))
    if not isinstance(data.get("expectations"), list):
        raise ConfigError("the suite needs an 'expectations' list", source=str(path))
    if unknown := sorted(set(data) - _SUITE_KEYS):
        raise ConfigError(f"unknown suite key(s): {', '.join(unknown)}", source=str(path))

    gx = _gx()
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    allowed = set(inspect.signature(ExpectationConfiguration.__init__).parameters) - {"self"}
    configs = []
    for number, item in enumerate(data["expectations"], start=1):
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            problem = f"expectation {number}: needs a 'type' string"
            raise ConfigError(problem, source=str(path))
        where = f"expectation {number} ({item['type']})"
        if unknown := sorted(set(item) - allowed):
            raise ConfigError(f"{where}: unknown key(s): {', '.join(unknown)}", source=str(path))
        try:
            config = ExpectationConfiguration(**{"kwargs": {}, "id": f"#{number}", **item})
            config.to_domain_obj()  # unknown types and bad kwargs fail here
        except gx.exceptions.ExpectationNotFoundError as exc:
            raise ConfigError(f"{where}: unknown expectation type", source=str(path)) from exc
        except (TypeError, ValueError, gx.exceptions.GreatExpectationsError) as exc:
            raise ConfigError(f"{where}: {_one_line(exc)}", source=str(path)) from exc
        configs.append(config)
    fields = {key: data[key] for key in _SUITE_KEYS - {"expectations"} if key in data}
    try:
        return gx.ExpectationSuite(expectations=configs, **fields)
    except (TypeError, ValueError, gx.exceptions.GreatExpectationsError) as exc:
        raise ConfigError(_one_line(exc), source=str(path)) from exc


def _column(kwargs: dict[str, Any]) -> str | None:
    if kwargs.get("column") is not None:
        return str(kwargs["column"])
    if kwargs.get("column_list") is not None:
        return ",".join(str(c) for c in kwargs["column_list"])
    return None


def _error(info: dict[str, Any]) -> str | None:
    """The first exception message in a result's exception_info (flat or keyed by metric)."""
    for entry in (info, *info.values()):
        if isinstance(entry, dict) and entry.get("raised_exception"):
            message = _one_line(Exception(entry.get("exception_message") or "unknown error"))
            return message.removeprefix("Error: ")
    return None


def _detail(result: Any) -> str:
    """Short human text for one ExpectationValidationResult."""
    error = _error(result.exception_info or {})
    if error:
        return f"error: {error}"
    values = result.result or {}
    if "unexpected_count" in values:
        unexpected, total = values["unexpected_count"] or 0, values.get("element_count")
        text = f"{unexpected} of {total} values unexpected"
        sample = values.get("partial_unexpected_list") or []
        if unexpected and sample:
            text += f", e.g. {', '.join(list(dict.fromkeys(repr(v) for v in sample))[:3])}"
        return text
    mismatch = (values.get("details") or {}).get("mismatched")
    if isinstance(mismatch, dict) and mismatch.get("missing"):
        return f"missing: {', '.join(str(c) for c in mismatch['missing'])}"
    if "observed_value" in values:
        return f"observed {values['observed_value']}"
    return "ok" if result.success else "failed"


def _metrics(values: dict[str, Any]) -> dict[str, float]:
    """The numeric figures of one result (booleans and lists left out)."""
    found = {}
    for key in ("observed_value", "element_count", "unexpected_count", "unexpected_percent"):
        value = values.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            found[key] = float(value)
    return found


def run_suite(frame: pd.DataFrame, suite_file: Path) -> CheckResult:
    """Validate ``frame`` against the suite in ``suite_file`` (pandas path, ephemeral context)."""
    suite = load_suite(suite_file)
    gx = _gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    asset = context.data_sources.add_pandas("tidebox").add_dataframe_asset(suite.name)
    batch = asset.add_batch_definition_whole_dataframe("frame").get_batch(
        batch_parameters={"dataframe": frame}
    )
    validation = batch.validate(suite, result_format="BASIC")
    position = {e.id: i for i, e in enumerate(suite.expectations)}  # GE reorders the results
    results = sorted(validation.results, key=lambda r: position.get(r.expectation_config.id, -1))
    outcomes = tuple(
        ExpectationOutcome(
            expectation=r.expectation_config.type,
            column=_column(r.expectation_config.kwargs),
            success=bool(r.success),
            detail=_detail(r),
            errored=_error(r.exception_info or {}) is not None,
            metrics=_metrics(r.result or {}),
        )
        for r in results
    )
    return CheckResult(suite=suite.name, rows=len(frame), outcomes=outcomes)
