"""The parsed form of a DQDL ruleset: frozen dataclasses an evaluator walks.

Everything here is immutable and holds no reference to the parse tree. Variables are already
resolved (a ``$name`` is replaced by its value; the rule's ``text`` still shows ``$name``), and
quoted strings shaped ``"YYYY-MM-DD"`` in conditions are :class:`DateLiteral` values, as Glue's
lexer reads them (their ``text`` keeps the string for a comparison with a string column).

Operands, what a condition compares the rule's metric with:

- ``int`` / ``float``: a number; ``str``: a quoted string; :class:`Keyword`: NULL, EMPTY or
  WHITESPACES_ONLY (only in ``=``, ``!=`` and ``in [...]``);
- :class:`DateLiteral`, :class:`Now` (``now()`` or ``(now() - 3 days)``): instants;
- :class:`Duration` (``24 hours``), :class:`Size` (``10 MB``);
- a numeric expression of a dynamic rule: :class:`FunctionCall` (``avg(last(10))``),
  :class:`BinaryOp` (``avg(last(10)) * 0.9``) and :class:`Negate`, over numbers.

A dynamic expression is computed from the table's earlier results of the same rule, newest
first: ``last(k)`` is the list of the latest ``k`` of them; ``avg``, ``min``, ``max``, ``sum``,
``median``, ``stdev`` (or ``std``) reduce such a list to a number; ``index(last(k), i)`` picks
one, ``index(last(k), 0)`` being the latest (see :mod:`.dynamic`, which computes them).
:func:`is_dynamic` tells whether a condition needs that history at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

KeywordName = Literal["NULL", "EMPTY", "WHITESPACES_ONLY"]
DurationUnit = Literal["days", "hours", "minutes"]
SizeUnit = Literal["B", "KB", "MB", "GB", "TB"]
CompareOp = Literal["=", "!=", ">", ">=", "<", "<="]
ArithmeticOp = Literal["+", "-", "*", "/"]

_UNIT_SECONDS = {"days": 86_400, "hours": 3_600, "minutes": 60}
_UNIT_BYTES = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}


@dataclass(frozen=True)
class Keyword:
    """``NULL``, ``EMPTY`` (a zero-length string) or ``WHITESPACES_ONLY``; any spelling case
    Glue accepts is stored upper-case."""

    name: KeywordName


@dataclass(frozen=True)
class DateLiteral:
    """A quoted ``"YYYY-MM-DD"`` in a condition: a calendar date (midnight when compared with
    an instant). ``text`` is the string as written, without its quotes."""

    value: dt.date
    text: str


@dataclass(frozen=True)
class Duration:
    """``<amount> days|hours|minutes``; the amount is negative in ``(now() - 3 days)``."""

    amount: int
    unit: DurationUnit

    @property
    def seconds(self) -> int:
        return self.amount * _UNIT_SECONDS[self.unit]

    @property
    def timedelta(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.seconds)


@dataclass(frozen=True)
class Now:
    """``now()``, shifted by ``offset`` when written ``(now() - 3 hours)``."""

    offset: Duration | None = None


@dataclass(frozen=True)
class Size:
    """``<amount> B|KB|MB|GB|TB`` (FileSize); ``bytes`` counts a KB as 1024 bytes."""

    amount: int
    unit: SizeUnit

    @property
    def bytes(self) -> int:
        return self.amount * _UNIT_BYTES[self.unit]


@dataclass(frozen=True)
class FunctionCall:
    """A function of a dynamic rule: ``last(10)``, ``avg(last(10))``, ``index(last(5), 1)``."""

    name: str
    args: tuple[NumericExpr, ...]


@dataclass(frozen=True)
class BinaryOp:
    """``left op right``; ``*`` and ``/`` bind tighter than ``+`` and ``-``, as written."""

    op: ArithmeticOp
    left: NumericExpr
    right: NumericExpr


@dataclass(frozen=True)
class Negate:
    """``-x`` for an ``x`` that is not a plain number (``-5`` is stored as the number -5)."""

    operand: NumericExpr


NumericExpr: TypeAlias = "int | float | FunctionCall | BinaryOp | Negate"
Operand: TypeAlias = (
    "int | float | str | Keyword | DateLiteral | Now | Duration | Size"
    " | FunctionCall | BinaryOp | Negate"
)
Scalar: TypeAlias = "str | int | float | Keyword"
Value: TypeAlias = "Scalar | tuple[Scalar, ...]"
"""What a variable holds: a string, a number, a keyword, or a list of those."""


@dataclass(frozen=True)
class Compare:
    """``<op> value``: ``= 100``, ``!= "x"``, ``> avg(last(5))``, ``<= 24 hours``."""

    op: CompareOp
    value: Operand


@dataclass(frozen=True)
class Between:
    """``[not] between low and high``. awslabs/dqdl evaluates it with both bounds excluded
    (``low < x < high``)."""

    low: Operand
    high: Operand
    negated: bool = False


@dataclass(frozen=True)
class InList:
    """``[not] in [v1, v2, ...]`` (or ``in $list``); keywords may be members."""

    values: tuple[Operand, ...]
    negated: bool = False


@dataclass(frozen=True)
class Matches:
    """``[not] matches "regex"``; the pattern is the string as written (``\\d`` stays)."""

    pattern: str
    negated: bool = False


Condition: TypeAlias = "Compare | Between | InList | Matches"


@dataclass(frozen=True)
class Rule:
    """One rule (or, in ``Ruleset.analyzers``, one analyzer) as written.

    ``parameters`` are the rule's strings in order (column names, the SQL of CustomSql, dataset
    aliases); :data:`~tidebox.quality.dqdl.rule_types.RULE_TYPES` names them per type.
    ``labels`` already holds the ruleset's ``DefaultLabels`` under the rule's own.
    ``text`` is the rule exactly as written, for Glue's ``EvaluatedRule``.
    """

    type: str
    parameters: tuple[str, ...]
    condition: Condition | None
    where: str | None
    threshold: Condition | None
    labels: Mapping[str, str] = field(hash=False)
    text: str
    line: int
    column: int

    @property
    def dynamic(self) -> bool:
        """True when the condition (or threshold) reads the table's earlier results."""
        return is_dynamic(self.condition) or is_dynamic(self.threshold)


@dataclass(frozen=True)
class Composite:
    """``(A) and (B)`` / ``(A) or (B)``: passes when all / any of ``parts`` pass."""

    op: Literal["and", "or"]
    parts: tuple[RuleNode, ...]
    text: str
    line: int
    column: int

    def leaves(self) -> Iterator[Rule]:
        """The plain rules inside, depth first, in the order written."""
        for part in self.parts:
            if isinstance(part, Composite):
                yield from part.leaves()
            else:
                yield part


RuleNode: TypeAlias = "Rule | Composite"


@dataclass(frozen=True)
class Ruleset:
    """A whole DQDL document.

    ``metadata`` and ``data_sources`` hold the ``Metadata``/``DataSources`` keys as written
    (strings, or tuples of strings for ``AdditionalDataSources``). ``rules`` are top-level rules
    in order; ``analyzers`` are rules without conditions.
    """

    source: str
    metadata: Mapping[str, str | tuple[str, ...]] = field(hash=False)
    data_sources: Mapping[str, str | tuple[str, ...]] = field(hash=False)
    variables: Mapping[str, Value] = field(hash=False)
    rules: tuple[RuleNode, ...]
    analyzers: tuple[Rule, ...]
    default_labels: Mapping[str, str] = field(hash=False)

    def leaf_rules(self) -> Iterator[Rule]:
        """Every plain rule, those inside composites included, in the order written."""
        for node in self.rules:
            if isinstance(node, Composite):
                yield from node.leaves()
            else:
                yield node


def is_dynamic(node: object) -> bool:
    """Whether a condition, operand or expression contains a function call (``last(k)``...)."""
    if isinstance(node, FunctionCall):
        return True
    if isinstance(node, BinaryOp):
        return is_dynamic(node.left) or is_dynamic(node.right)
    if isinstance(node, Negate):
        return is_dynamic(node.operand)
    if isinstance(node, Compare):
        return is_dynamic(node.value)
    if isinstance(node, Between):
        return is_dynamic(node.low) or is_dynamic(node.high)
    if isinstance(node, InList):
        return any(is_dynamic(v) for v in node.values)
    return False
