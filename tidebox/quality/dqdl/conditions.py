"""Conditions and their operands, from the parse tree to :mod:`~tidebox.quality.dqdl.model`.

Besides building, this is where DQDL's rules about values are checked, each failure a
:class:`~tidebox.core.errors.DqdlSyntaxError` at the offending operand: ``now()`` arithmetic in
parentheses and by a duration only, the functions of dynamic rules and their arguments, operands
of one kind on both sides of ``between`` and in one ``in`` list, and a condition of the kind its
rule type compares (a number for RowCount, a duration for DataFreshness...).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import cast

from lark import Token, Tree

from tidebox.core.errors import DqdlSyntaxError
from tidebox.quality.dqdl.model import (
    ArithmeticOp,
    Between,
    BinaryOp,
    Compare,
    CompareOp,
    Condition,
    DateLiteral,
    Duration,
    DurationUnit,
    FunctionCall,
    InList,
    Keyword,
    KeywordName,
    Matches,
    Negate,
    Now,
    NumericExpr,
    Operand,
    Scalar,
    Size,
    SizeUnit,
    Value,
)
from tidebox.quality.dqdl.rule_types import RuleTypeSpec

Node = Tree | Token

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ESCAPE = re.compile(r'\\(["\\])')
_AGGREGATES = ("avg", "min", "max", "sum", "median", "stdev", "std")
_FUNCTIONS = ("last", *_AGGREGATES, "index", "abs")
_ORDERING = {">", ">=", "<", "<="}

# what a condition of each kind of rule may compare with, and an example for messages
_KINDS_FOR = {
    "number": ({"number"}, "> 0"),
    "number_or_boolean": ({"number"}, "> 0"),
    "values": ({"number", "string", "date", "keyword"}, 'in ["a", "b"]'),
    "string": ({"string"}, '= "Integer"'),
    "duration": ({"duration"}, "<= 24 hours"),
    "date": ({"date"}, "> (now() - 1 days)"),
    "size": ({"size"}, "< 10 MB"),
}
_KIND_NAMES = {
    "number": "a number",
    "string": "a string",
    "date": "a date",
    "duration": "a duration",
    "size": "a size",
    "keyword": "a keyword",
}


def unquote(token: Token) -> str:
    """The text of a STRING token: quotes dropped, ``\\"`` and ``\\\\`` unescaped."""
    return _ESCAPE.sub(r"\1", str(token)[1:-1])


@dataclass(frozen=True)
class ParseContext:
    """What building needs besides the tree: the source's name and text, and the variables."""

    source: str
    text: str
    variables: dict[str, Value]

    def error(self, node: Node, problem: str) -> DqdlSyntaxError:
        """A syntax error placed at ``node`` (a token, or a tree's first character)."""
        if isinstance(node, Token):
            line, column = node.line or 1, node.column or 1
        else:
            line, column = node.meta.line, node.meta.column
        return DqdlSyntaxError(self.source, line, column, problem)

    def slice(self, node: Tree) -> str:
        """The source text a tree spans, exactly as written."""
        return self.text[node.meta.start_pos : node.meta.end_pos]


def kind(operand: Operand) -> str:
    """number, string, date, duration, size or keyword."""
    if isinstance(operand, str):
        return "string"
    if isinstance(operand, Keyword):
        return "keyword"
    if isinstance(operand, DateLiteral | Now):
        return "date"
    if isinstance(operand, Duration):
        return "duration"
    if isinstance(operand, Size):
        return "size"
    return "number"


class ConditionBuilder:
    """Builds conditions for one ruleset, resolving ``$variables`` as it goes."""

    def __init__(self, ctx: ParseContext) -> None:
        self.ctx = ctx

    # -- conditions -------------------------------------------------------------------------

    def condition(self, tree: Tree) -> Condition:
        """A condition tree (compare, between, in_list, in_variable, matches) as a model."""
        negated = bool(tree.children) and _is_not(tree.children[0])
        args = [c for c in tree.children if not _is_not(c)]
        if tree.data == "compare":
            op = cast(CompareOp, str(cast(Tree, args[0]).children[0]))
            value = self.operand(args[1])
            if op in _ORDERING and kind(value) in ("string", "keyword"):
                raise self.ctx.error(
                    args[1], f"'{op}' compares numbers, dates, durations or sizes, not {_a(value)}"
                )
            return Compare(op, value)
        if tree.data == "between":
            low, high = self.operand(args[0]), self.operand(args[1])
            for value, node in ((low, args[0]), (high, args[1])):
                if kind(value) in ("string", "keyword"):
                    raise self.ctx.error(
                        node, f"'between' takes numbers, dates, durations or sizes, not {_a(value)}"
                    )
            if kind(low) != kind(high):
                raise self.ctx.error(
                    args[1], f"'between' has {_a(low)} and {_a(high)}: both bounds must be alike"
                )
            return Between(low, high, negated)
        if tree.data == "in_list":
            items = cast(Tree, args[0]).children
            values = tuple(self.operand(item) for item in items)
            self._check_alike(values, items)
            return InList(values, negated)
        if tree.data == "in_variable":
            return InList(self._list_variable(cast(Token, args[0])), negated)
        if tree.data == "matches":
            return Matches(unquote(cast(Token, args[0])), negated)
        raise self.ctx.error(tree, f"unexpected condition {tree.data}")  # grammar and code disagree

    def check_for_rule(self, cond: Condition, spec: RuleTypeSpec, at: Tree) -> None:
        """Refuse a condition that the rule type does not compare (a date for RowCount...)."""
        if spec.returns == "boolean":
            raise self.ctx.error(at, f"{spec.name} takes no condition: it passes or fails alone")
        if spec.returns == "any":
            return
        kinds, example = _KINDS_FOR[spec.returns]
        if isinstance(cond, Matches):
            if "string" not in kinds:
                raise self.ctx.error(
                    at, f"{spec.name} compares {_kind_list(kinds)}; 'matches' is for strings"
                )
            return
        for value in _operands(cond):
            if kind(value) not in kinds:
                raise self.ctx.error(
                    at,
                    f"{spec.name} compares {_kind_list(kinds)}, not {_a(value)} "
                    f"(for example: {spec.name} ... {example})",
                )

    def check_threshold(self, cond: Condition, at: Tree) -> None:
        """``with threshold`` compares the share of passing rows: numbers only."""
        if isinstance(cond, Matches) or any(kind(v) != "number" for v in _operands(cond)):
            raise self.ctx.error(
                at, "'with threshold' compares the share of passing rows: use a number, as in > 0.9"
            )

    @staticmethod
    def example_for(spec: RuleTypeSpec) -> str:
        return _KINDS_FOR.get(spec.returns, ({""}, "> 0"))[1]

    def _check_alike(self, values: tuple[Operand, ...], nodes: list[Node]) -> None:
        kinds = [(kind(v), n) for v, n in zip(values, nodes, strict=True) if kind(v) != "keyword"]
        for k, node in kinds[1:]:
            if k != kinds[0][0]:
                raise self.ctx.error(
                    node,
                    f"an 'in' list holds values of one kind: {_KIND_NAMES[k]} after "
                    f"{_KIND_NAMES[kinds[0][0]]}",
                )

    # -- operands ---------------------------------------------------------------------------

    def operand(self, tree: Node) -> Operand:
        """One value of a condition, checked (now() arithmetic, functions, arithmetic kinds)."""
        if isinstance(tree, Token):  # a rule never hands over a bare token; be safe
            raise self.ctx.error(tree, f"unexpected '{tree}'")
        data = tree.data
        if data == "group":
            inner = tree.children[0]
            if isinstance(inner, Tree) and inner.data == "binary" and _has_now(inner):
                return self._shifted_now(inner)
            return self.operand(inner)
        if data == "binary":
            if _has_now(tree):
                raise self.ctx.error(
                    tree, "write now() arithmetic in parentheses, such as (now() - 3 days)"
                )
            left, op, right = tree.children
            return BinaryOp(cast(ArithmeticOp, str(op)), self._numeric(left), self._numeric(right))
        if data == "negate":
            value = self.operand(tree.children[0])
            if isinstance(value, int | float):
                return -value
            if kind(value) != "number":
                raise self.ctx.error(tree, f"a minus sign cannot go before {_a(value)}")
            return Negate(cast(NumericExpr, value))
        if data == "call":
            return self._call(tree, argument=False)
        return self._atom(tree)

    def scalar(self, tree: Tree) -> Scalar:
        """A literal of a variable definition: a string, a number or a keyword."""
        if tree.data == "negative_number":
            return -_number(cast(Token, tree.children[0]))
        if tree.data == "number":
            return _number(cast(Token, tree.children[0]))
        if tree.data == "keyword":
            return _keyword(cast(Token, tree.children[0]))
        return unquote(cast(Token, tree.children[0]))

    def _atom(self, tree: Tree) -> Operand:
        data, first = tree.data, tree.children[0] if tree.children else None
        if data == "number":
            return _number(cast(Token, first))
        if data == "string":
            return self._string(unquote(cast(Token, first)), tree)
        if data == "keyword":
            return _keyword(cast(Token, first))
        if data == "now":
            return Now()
        if data == "duration":
            amount, unit = tree.children
            return Duration(self._whole(cast(Token, amount), "a duration"), _duration_unit(unit))
        if data == "size":
            amount, unit = tree.children
            return Size(self._whole(cast(Token, amount), "a size"), cast(SizeUnit, str(unit)))
        if data == "variable_ref":
            return self._scalar_variable(cast(Token, first))
        raise self.ctx.error(tree, f"unexpected value {data}")  # grammar and code disagree

    def _string(self, text: str, at: Node) -> Operand:
        """A string, or a DateLiteral when it is shaped YYYY-MM-DD (Glue lexes those as dates)."""
        if not _DATE.fullmatch(text):
            return text
        try:
            return DateLiteral(dt.date.fromisoformat(text), text)
        except ValueError:
            raise self.ctx.error(at, f'"{text}" is not a calendar date') from None

    def _whole(self, token: Token, what: str) -> int:
        if "." in token:
            raise self.ctx.error(token, f"{what} takes a whole number, not {token}")
        return int(token)

    def _numeric(self, tree: Node) -> NumericExpr:
        value = self.operand(tree)
        if kind(value) != "number":
            raise self.ctx.error(tree, f"arithmetic needs numbers, not {_a(value)}")
        return cast(NumericExpr, value)

    def _shifted_now(self, tree: Tree) -> Now:
        left, op, right = tree.children
        if not (isinstance(left, Tree) and left.data == "now"):
            raise self.ctx.error(tree, "now() comes first in its arithmetic: (now() - 3 days)")
        shift = self.operand(right)
        if not isinstance(shift, Duration):
            raise self.ctx.error(
                right, f"now() is shifted by a duration such as 3 days, not {_a(shift)}"
            )
        if str(op) not in ("+", "-"):
            raise self.ctx.error(tree, f"now() can only be shifted with + or -, not '{op}'")
        sign = -1 if str(op) == "-" else 1
        return Now(Duration(sign * shift.amount, shift.unit))

    def _call(self, tree: Tree, argument: bool) -> FunctionCall:
        name_token = cast(Token, tree.children[0])
        name = str(name_token)
        args = [c for c in tree.children[1:] if c is not None]
        if name not in _FUNCTIONS:
            raise self.ctx.error(
                name_token,
                f"unknown function '{name}' (dynamic rules use {', '.join(_FUNCTIONS)})",
            )
        if name == "last":
            # last() is last(1); Glue: "last(k), where k > 1 requires an aggregation function"
            k = self._count(tree, args, name, minimum=1) if args else 1
            if k > 1 and not argument:
                raise self.ctx.error(
                    tree,
                    f"last({k}) is a list of earlier results: reduce it, as in avg(last({k}))",
                )
            return FunctionCall(name, (k,) if args else ())
        if name == "abs":  # of a number: abs(avg(last(3)) - 10)
            if len(args) != 1:
                raise self.ctx.error(tree, "abs takes one number, as in abs(avg(last(3)) - 10)")
            return FunctionCall(name, (self._numeric(args[0]),))
        wanted = 2 if name == "index" else 1
        if len(args) != wanted or not _is_call(args[0], "last"):
            shape = "index(last(k), i)" if name == "index" else f"{name}(last(k))"
            raise self.ctx.error(tree, f"{name} takes earlier results, as in {shape}")
        history = self._call(cast(Tree, args[0]), argument=True)
        if name == "index":
            position = self._count(tree, args[1:], name, minimum=0)
            return FunctionCall(name, (history, position))
        return FunctionCall(name, (history,))

    def _count(self, at: Tree, args: list[Node], name: str, minimum: int) -> int:
        value = self.operand(args[0]) if len(args) == 1 else None
        if not isinstance(value, int) or value < minimum:
            least = "a positive whole number" if minimum else "a whole number"
            raise self.ctx.error(at, f"{name}(...) takes {least} here")
        return value

    # -- variables --------------------------------------------------------------------------

    def _lookup(self, token: Token) -> Value:
        name = str(token)[1:]
        if name not in self.ctx.variables:
            known = ", ".join(f"${n}" for n in self.ctx.variables) or "none are defined"
            raise self.ctx.error(token, f"undefined variable ${name} (variables: {known})")
        return self.ctx.variables[name]

    def _scalar_variable(self, token: Token) -> Operand:
        value = self._lookup(token)
        if isinstance(value, tuple):
            raise self.ctx.error(token, f"{token} holds a list: use it as 'in {token}'")
        if isinstance(value, str):
            return self._string(value, token)
        return value

    def _list_variable(self, token: Token) -> tuple[Operand, ...]:
        value = self._lookup(token)
        if not isinstance(value, tuple):
            raise self.ctx.error(token, f"'in' needs a list, and {token} holds {_a(value)}")
        converted = tuple(self._string(v, token) if isinstance(v, str) else v for v in value)
        self._check_alike(converted, [token] * len(converted))
        return converted

    def string_variable(self, token: Token, purpose: str) -> str:
        """A ``$name`` where a string is wanted (a rule parameter)."""
        value = self._lookup(token)
        if not isinstance(value, str):
            raise self.ctx.error(token, f"{purpose} is a string, and {token} holds {_a(value)}")
        return value


def _is_not(node: Node) -> bool:
    return isinstance(node, Token) and node.type == "NOT"


def _is_call(node: Node, name: str) -> bool:
    return isinstance(node, Tree) and node.data == "call" and str(node.children[0]) == name


def _has_now(tree: Tree) -> bool:
    return any(isinstance(t, Tree) and t.data == "now" for t in tree.iter_subtrees())


def _number(token: Token) -> int | float:
    return float(token) if "." in token else int(token)


def _keyword(token: Token) -> Keyword:
    return Keyword(cast(KeywordName, str(token).upper()))


def _duration_unit(token: Node) -> DurationUnit:
    return cast(DurationUnit, str(token))


def _operands(cond: Condition) -> tuple[Operand, ...]:
    if isinstance(cond, Compare):
        return (cond.value,)
    if isinstance(cond, Between):
        return (cond.low, cond.high)
    if isinstance(cond, InList):
        return tuple(v for v in cond.values if not isinstance(v, Keyword))
    return ()


def _a(value: object) -> str:
    """'a string', 'a list'..., for messages."""
    if isinstance(value, tuple):
        return "a list"
    return _KIND_NAMES[kind(cast(Operand, value))]


def _kind_list(kinds: set[str]) -> str:
    names = [_KIND_NAMES[k].split(" ", 1)[1] + "s" for k in sorted(kinds) if k != "keyword"]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
