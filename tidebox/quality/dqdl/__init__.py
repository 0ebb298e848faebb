"""DQDL, the rule language of AWS Glue Data Quality: parsed for tidebox's local Glue.

``parse_ruleset(text, source)`` (or ``load_ruleset(path)``) reads a ruleset such as::

    Metadata = { "Version": "1.0" }
    DefaultLabels = ["team"="sensors"]
    device_ids = ["dev-1", "dev-2"]
    Rules = [
        RowCount > avg(last(10)) * 0.9,
        (IsComplete "device_id") and (ColumnValues "device_id" in $device_ids),
        ColumnValues "temperature" between -40 and 85 with threshold > 0.99 labels=["unit"="C"],
        DataFreshness "event_time" <= 24 hours
    ]
    Analyzers = [ AllStatistics "temperature" ]

and returns a :class:`Ruleset` (frozen dataclasses, :mod:`.model`) or raises
:class:`~tidebox.core.errors.DqdlSyntaxError` with ``source:line:column: message``.

The tree an evaluator walks:

- ``Ruleset(source, metadata, data_sources, variables, rules, analyzers, default_labels)``;
  ``rules`` holds :class:`Rule` and :class:`Composite` nodes in the order written,
  ``leaf_rules()`` the plain rules inside them; ``analyzers`` holds :class:`Rule` s without
  conditions; ``data_sources`` keeps Glue's ``Primary``/``AdditionalDataSources`` and any other
  key as an alias mapped to a catalog table (:mod:`.sources`).
- ``Rule(type, parameters, condition, where, threshold, labels, text, line, column)``:
  ``parameters`` are strings (column names, CustomSql's SQL, dataset aliases), named per type in
  :data:`RULE_TYPES`; ``condition`` and ``threshold`` are conditions or None; ``where`` the SQL
  predicate or None; ``labels`` include the DefaultLabels; ``text`` is the rule as written.
  A rule type missing from :data:`RULE_TYPES` is parsed as written (no checks on it), for the
  evaluator to answer with an ERROR outcome saying it is not supported.
- ``Composite(op, parts, text, line, column)``: ``op`` is ``"and"`` or ``"or"``.
- Conditions: ``Compare(op, value)`` with op one of ``= != > >= < <=``,
  ``Between(low, high, negated)``, ``InList(values, negated)``, ``Matches(pattern, negated)``.
- Operands: ``int``/``float``, ``str``, :class:`Keyword` (NULL, EMPTY, WHITESPACES_ONLY),
  :class:`DateLiteral`, :class:`Now` (with an optional :class:`Duration` offset),
  :class:`Duration`, :class:`Size`, and the dynamic expressions :class:`FunctionCall`,
  :class:`BinaryOp` and :class:`Negate`, computed from the rule's earlier results
  (``Rule.dynamic`` tells whether a rule needs them; see :mod:`.model` for the functions).

Variables are resolved while parsing: a ``$name`` in a rule is replaced by its value (an
undefined one is an error at its place), while ``Rule.text`` keeps ``$name`` as written.
"""

from tidebox.quality.dqdl.model import (
    Between,
    BinaryOp,
    Compare,
    Composite,
    Condition,
    DateLiteral,
    Duration,
    FunctionCall,
    InList,
    Keyword,
    Matches,
    Negate,
    Now,
    Operand,
    Rule,
    RuleNode,
    Ruleset,
    Size,
    Value,
    is_dynamic,
)
from tidebox.quality.dqdl.parser import load_ruleset, parse_ruleset
from tidebox.quality.dqdl.rule_types import RULE_TYPES, RuleTypeSpec

__all__ = [
    "RULE_TYPES",
    "Between",
    "BinaryOp",
    "Compare",
    "Composite",
    "Condition",
    "DateLiteral",
    "Duration",
    "FunctionCall",
    "InList",
    "Keyword",
    "Matches",
    "Negate",
    "Now",
    "Operand",
    "Rule",
    "RuleNode",
    "RuleTypeSpec",
    "Ruleset",
    "Size",
    "Value",
    "is_dynamic",
    "load_ruleset",
    "parse_ruleset",
]
