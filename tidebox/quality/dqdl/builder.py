"""The parse tree of a whole DQDL document, turned into a :class:`~.model.Ruleset`.

Checks made here (each a :class:`~tidebox.core.errors.DqdlSyntaxError` at its place): the
sections (each once; ``Metadata`` and ``DataSources`` with the keys Glue accepts, plus
``DataSources`` keys naming dataset aliases, each a string: the catalog table), variables
(defined once, used only once defined, of the kind their use needs), a known rule type's
parameter count and whether it takes ``where`` / ``with threshold`` / a condition at all,
labels (no key twice), and a ruleset with at least one rule or analyzer.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import cast

from lark import Token, Tree

from tidebox.quality.dqdl.conditions import ConditionBuilder, Node, ParseContext, unquote
from tidebox.quality.dqdl.model import Composite, Rule, RuleNode, Ruleset, Value
from tidebox.quality.dqdl.rule_types import RULE_TYPES, RuleTypeSpec

# the keys Glue accepts in the dictionaries, and whether each holds a list
_DICTIONARY_KEYS = {
    "metadata": {"Version": False},
    "data_sources": {"Primary": False, "AdditionalDataSources": True},
}
_CLAUSES = ("where", "threshold", "labels")
_MAX_LABELS, _MAX_KEY, _MAX_VALUE = 10, 128, 256  # Glue's label constraints
_KEYWORDS = {"between", "in", "matches", "not", "where", "with", "labels"}
_SECTION_NAMES = {
    "metadata": "Metadata",
    "data_sources": "DataSources",
    "default_labels": "DefaultLabels",
}


def build_ruleset(tree: Tree, text: str, source: str) -> Ruleset:
    """The ruleset a parse tree (``grammar.lark``'s ``start``) describes, checked."""
    return _Builder(ParseContext(source, text, {})).ruleset(tree)


class _Builder:
    def __init__(self, ctx: ParseContext) -> None:
        self.ctx = ctx
        self.conditions = ConditionBuilder(ctx)
        self.default_labels: dict[str, str] = {}

    def ruleset(self, tree: Tree) -> Ruleset:
        seen: set[str] = set()
        dictionaries: dict[str, dict[str, str | tuple[str, ...]]] = {}
        rules: tuple[RuleNode, ...] = ()
        analyzers: tuple[Rule, ...] = ()
        first_section: Token | None = None
        for child in cast(list[Tree], tree.children):
            kind = child.data
            if kind in _SECTION_NAMES:
                if kind in seen:
                    raise self.ctx.error(child, f"{_SECTION_NAMES[kind]} is given twice")
                seen.add(kind)
            if kind in _DICTIONARY_KEYS:
                dictionaries[kind] = self._dictionary(child)
            elif kind == "default_labels":
                self.default_labels = self._labels(cast(Tree, child.children[0]))
            elif kind == "variable":
                self._variable(child)
            elif kind == "rules_section":
                first_section = first_section or cast(Token, child.children[0])
                rules = tuple(self._rule_node(c) for c in _items(child))
            elif kind == "analyzers_section":
                first_section = first_section or cast(Token, child.children[0])
                analyzers = tuple(self._rule(c, analyzer=True) for c in _items(child))
        if not rules and not analyzers and first_section is not None:
            raise self.ctx.error(first_section, "the ruleset has no rules and no analyzers")
        return Ruleset(
            source=self.ctx.source,
            metadata=MappingProxyType(dictionaries.get("metadata", {})),
            data_sources=MappingProxyType(dictionaries.get("data_sources", {})),
            variables=MappingProxyType(dict(self.ctx.variables)),
            rules=rules,
            analyzers=analyzers,
            default_labels=MappingProxyType(self.default_labels),
        )

    # -- header sections --------------------------------------------------------------------

    def _dictionary(self, section: Tree) -> dict[str, str | tuple[str, ...]]:
        allowed = _DICTIONARY_KEYS[section.data]
        name = _SECTION_NAMES[section.data]
        result: dict[str, str | tuple[str, ...]] = {}
        for pair in cast(Tree, section.children[0]).children:
            key_token, value = cast(Tree, pair).children
            key = unquote(cast(Token, key_token))
            if section.data == "data_sources" and _is_alias(key, allowed):
                allowed = {**allowed, key: False}  # tidebox: "alias": "catalog table"
            if key not in allowed:
                supported = ", ".join(f'"{k}"' for k in allowed)
                raise self.ctx.error(
                    key_token, f'unsupported key "{key}" in {name} (supported: {supported})'
                )
            if key in result:
                raise self.ctx.error(key_token, f'"{key}" is given twice in {name}')
            is_list = isinstance(value, Tree)
            if is_list != allowed[key]:
                wanted = "a list of strings" if allowed[key] else "a string"
                raise self.ctx.error(key_token, f'"{key}" in {name} takes {wanted}')
            if isinstance(value, Tree):
                result[key] = tuple(unquote(cast(Token, s)) for s in value.children)
            else:
                result[key] = unquote(value)
        return result

    def _variable(self, tree: Tree) -> None:
        name_token, value_tree = cast(Token, tree.children[0]), cast(Tree, tree.children[1])
        name = str(name_token)
        if name in self.ctx.variables:
            raise self.ctx.error(name_token, f"variable {name} is defined twice")
        value: Value
        if value_tree.data == "literal_list":
            value = tuple(self.conditions.scalar(cast(Tree, c)) for c in value_tree.children)
        else:
            value = self.conditions.scalar(value_tree)
        self.ctx.variables[name] = value

    def _labels(self, label_list: Tree) -> dict[str, str]:
        """Key-value labels, within Glue's limits: at most 10, a key of 1-128 characters, a
        value of at most 256."""
        labels: dict[str, str] = {}
        children = cast(list[Tree], label_list.children)
        if len(children) > _MAX_LABELS:
            raise self.ctx.error(label_list, f"at most {_MAX_LABELS} labels, found {len(children)}")
        for label in children:
            key_token, value_token = cast(list[Token], label.children)
            key = unquote(key_token)
            if not key:
                raise self.ctx.error(key_token, "a label's key cannot be empty")
            if len(key) > _MAX_KEY:
                raise self.ctx.error(key_token, f"a label's key has at most {_MAX_KEY} characters")
            if key in labels:
                raise self.ctx.error(key_token, f'label "{key}" is given twice')
            value = unquote(value_token)
            if len(value) > _MAX_VALUE:
                raise self.ctx.error(
                    value_token, f"a label's value has at most {_MAX_VALUE} characters"
                )
            labels[key] = value
        return labels

    # -- rules ------------------------------------------------------------------------------

    def _rule_node(self, tree: Tree) -> RuleNode:
        if tree.data == "paren":
            return self._rule_node(cast(Tree, tree.children[0]))
        if tree.data in ("all_of", "any_of"):
            return Composite(
                op="and" if tree.data == "all_of" else "or",
                parts=tuple(self._rule_node(cast(Tree, c)) for c in tree.children),
                text=self.ctx.slice(tree),
                line=tree.meta.line,
                column=tree.meta.column,
            )
        return self._rule(tree, analyzer=False)

    def _rule(self, tree: Tree, analyzer: bool) -> Rule:
        type_token = cast(Token, cast(Tree, tree.children[0]).children[0])
        spec = RULE_TYPES.get(str(type_token))
        parts: dict[str, Tree] = {}
        parameters: list[tuple[str, Node]] = []
        for child in cast(list[Tree], tree.children[1:]):
            if child.data == "parameter":
                parameters.append((self._parameter(child), child))
            else:
                parts[child.data if child.data in _CLAUSES else "condition"] = child
        if spec is not None:
            self._check_spec(spec, type_token, parameters, parts, analyzer)
        condition = threshold = None
        if "condition" in parts:
            condition = self.conditions.condition(parts["condition"])
            if spec is not None:
                self.conditions.check_for_rule(condition, spec, parts["condition"])
        if "threshold" in parts:
            threshold_tree = cast(Tree, parts["threshold"].children[0])
            threshold = self.conditions.condition(threshold_tree)
            self.conditions.check_threshold(threshold, threshold_tree)
        labels = dict(self.default_labels)
        if "labels" in parts:
            labels.update(self._labels(cast(Tree, parts["labels"].children[0])))
            if len(labels) > _MAX_LABELS:  # the ruleset's defaults count too
                raise self.ctx.error(
                    parts["labels"], f"at most {_MAX_LABELS} labels per rule, defaults included"
                )
        return Rule(
            type=str(type_token),
            parameters=tuple(value for value, _ in parameters),
            condition=condition,
            where=self._where(parts.get("where")),
            threshold=threshold,
            labels=MappingProxyType(labels),
            text=self.ctx.slice(tree),
            line=tree.meta.line,
            column=tree.meta.column,
        )

    def _parameter(self, tree: Tree) -> str:
        token = cast(Token, tree.children[-1])
        if token.type == "VAR":
            return self.conditions.string_variable(token, "a rule parameter")
        if token.type == "STRING":
            return unquote(token)
        return str(token)

    def _where(self, tree: Tree | None) -> str | None:
        if tree is None:
            return None
        token = cast(Token, tree.children[0])
        predicate = unquote(token)
        if not predicate.strip():
            raise self.ctx.error(token, "the where clause is empty: give it a SQL predicate")
        return predicate

    def _check_spec(
        self,
        spec: RuleTypeSpec,
        type_token: Token,
        parameters: list[tuple[str, Node]],
        parts: dict[str, Tree],
        analyzer: bool,
    ) -> None:
        name = spec.name
        if not analyzer and not spec.rule:
            raise self.ctx.error(type_token, f"{name} is an analyzer: list it in Analyzers = [...]")
        if analyzer and not spec.analyzer:
            raise self.ctx.error(type_token, f"{name} is a rule, not an analyzer")
        count, most = len(parameters), spec.most
        if count < spec.fewest or (most is not None and count > most):
            names = f" ({', '.join(spec.parameters)})" if spec.parameters else ""
            at = parameters[most][1] if most is not None and count > most else type_token
            hint = _count_hint(parameters[most:] if most is not None else [])
            raise self.ctx.error(
                at, f"{name} takes {spec.describe_count()}{names}, found {count}{hint}"
            )
        if "where" in parts and not spec.where:
            raise self.ctx.error(parts["where"], f"{name} does not take a where clause")
        if "threshold" in parts and not spec.threshold:
            raise self.ctx.error(parts["threshold"], f"{name} does not take 'with threshold'")
        needs_condition = spec.returns not in ("boolean", "number_or_boolean", "any")
        if needs_condition and not analyzer and "condition" not in parts:
            example = self.conditions.example_for(spec)
            raise self.ctx.error(
                type_token, f"{name} needs a condition, such as {name} ... {example}"
            )


def _count_hint(extra: list[tuple[str, Node]]) -> str:
    """Why a rule may have too many parameters: a missing comma, a keyword in capitals."""
    for value, node in extra:
        if not (isinstance(node, Tree) and cast(Token, node.children[-1]).type == "BARE"):
            continue
        if value in RULE_TYPES:
            return f"; is a ',' missing before {value}?"
        if value.lower() in _KEYWORDS and value != value.lower():
            return f"; keywords are case-sensitive: write '{value.lower()}'"
    return ""


def _is_alias(key: str, known: dict[str, bool]) -> bool:
    """A ``DataSources`` key other than Glue's own names a dataset alias (tidebox's mapping of
    an alias to a catalog table); a key that is one of Glue's spelled in another case stays an
    error, as a likely typo."""
    return bool(key) and key.lower() not in {k.lower() for k in known}


def _items(section: Tree) -> list[Tree]:
    """The rules or analyzers of a section (its keyword token left out)."""
    return [c for c in section.children if isinstance(c, Tree)]
