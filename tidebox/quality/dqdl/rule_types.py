"""The DQDL rule types tidebox knows, with their parameters and what their conditions compare.

The facts (names, parameter names and counts, return types, which types take ``where`` and
``with threshold``) follow ``rules-config.json`` of awslabs/dqdl; which types may not be analyzers
follows the "Supported as Analyzer?" column of AWS's rule type reference. The parser checks a
known rule against its spec (parameter count, condition kind) and leaves an unknown type as
parsed, so that the evaluator can answer it with an ERROR outcome ("rule type X is not
supported") instead of a silent pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Returns = Literal[
    "number",  # a metric compared with numbers (or a dynamic expression)
    "boolean",  # passes or fails on its own: no condition
    "number_or_boolean",  # CustomSql: a number with a condition, row-level checks without
    "values",  # ColumnValues: numbers, strings, dates, keywords, regular expressions
    "string",  # ColumnDataType: type names
    "duration",  # DataFreshness: ages such as 24 hours
    "date",  # FileFreshness: instants
    "size",  # FileSize: 10 MB
    "any",  # FileMatch: several forms; only its parameter count is checked
]


@dataclass(frozen=True)
class RuleTypeSpec:
    """What one rule type takes.

    ``parameters`` names the parameters in order; with ``var_args`` the last one may repeat
    (IsPrimaryKey "a" "b"). ``min_params`` lets trailing parameters be left out
    (DatasetMatch's MatchColumnMappings, the file rules' DataPath).
    """

    name: str
    parameters: tuple[str, ...]
    returns: Returns
    min_params: int | None = None
    var_args: bool = False
    where: bool = False
    threshold: bool = False
    rule: bool = True
    analyzer: bool = True

    @property
    def fewest(self) -> int:
        return len(self.parameters) if self.min_params is None else self.min_params

    @property
    def most(self) -> int | None:
        return None if self.var_args else len(self.parameters)

    def describe_count(self) -> str:
        """``no parameters``, ``1 parameter``, ``2 or 3 parameters``, ``1 or more parameters``."""
        low, high = self.fewest, self.most
        if high is None:
            return f"{low} or more parameters"
        if low == high:
            return {0: "no parameters", 1: "1 parameter"}.get(low, f"{low} parameters")
        joiner = " or " if high == low + 1 else " to "
        return f"{low}{joiner}{high} parameters"


def _column(name: str, returns: Returns = "number", where: bool = True) -> RuleTypeSpec:
    return RuleTypeSpec(name, ("TargetColumn",), returns, where=where)


_SPECS = (
    RuleTypeSpec("RowCount", (), "number", where=True),
    RuleTypeSpec("RowCountMatch", ("ReferenceDatasetAlias",), "number"),
    RuleTypeSpec("ColumnCount", (), "number"),
    _column("Completeness"),
    _column("IsComplete", "boolean"),
    RuleTypeSpec(
        "ColumnDataType", ("TargetColumn",), "string", where=True, threshold=True, analyzer=False
    ),
    RuleTypeSpec("ColumnNamesMatchPattern", ("PatternToMatch",), "boolean", analyzer=False),
    RuleTypeSpec("ColumnExists", ("TargetColumn",), "boolean", analyzer=False),
    RuleTypeSpec("ColumnCorrelation", ("TargetColumn1", "TargetColumn2"), "number", where=True),
    RuleTypeSpec("Uniqueness", ("TargetColumn",), "number", var_args=True, where=True),
    RuleTypeSpec("IsUnique", ("TargetColumn",), "boolean", var_args=True, where=True),
    _column("Mean"),
    _column("Sum"),
    _column("StandardDeviation"),
    _column("Variance"),
    _column("Range"),
    _column("Entropy"),
    _column("DistinctValuesCount"),
    _column("UniqueValueRatio"),
    _column("ColumnLength"),
    RuleTypeSpec("IsPrimaryKey", ("TargetColumn",), "boolean", var_args=True, where=True),
    RuleTypeSpec("ColumnValues", ("TargetColumn",), "values", where=True, threshold=True),
    _column("DataFreshness", "duration"),
    RuleTypeSpec(
        "CustomSql", ("CustomSqlStatement",), "number_or_boolean", threshold=True, analyzer=False
    ),
    RuleTypeSpec(
        "ReferentialIntegrity", ("PrimaryDatasetColumns", "ReferenceDatasetColumns"), "number"
    ),
    RuleTypeSpec(
        "DatasetMatch",
        ("ReferenceDatasetAlias", "KeyColumnMappings", "MatchColumnMappings"),
        "number",
        min_params=2,
    ),
    RuleTypeSpec("SchemaMatch", ("ReferenceDatasetAlias",), "number"),
    RuleTypeSpec(
        "AggregateMatch", ("AggregateExpression1", "AggregateExpression2"), "number", analyzer=False
    ),
    RuleTypeSpec("DetectAnomalies", ("MetricParameter",), "boolean", var_args=True),
    RuleTypeSpec("AllStatistics", ("TargetColumn",), "number", rule=False),
    RuleTypeSpec("FileMatch", ("DataPath", "CompareDataPath"), "any", min_params=0),
    RuleTypeSpec("FileUniqueness", ("DataPath",), "number", min_params=0),
    RuleTypeSpec("FileFreshness", ("DataPath",), "date", min_params=0, threshold=True),
    RuleTypeSpec("FileSize", ("DataPath",), "size", min_params=0, threshold=True),
)

RULE_TYPES: dict[str, RuleTypeSpec] = {spec.name: spec for spec in _SPECS}
"""Known rule types by their (case-sensitive) name."""
