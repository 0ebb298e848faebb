"""Parse DQDL text with lark and ``grammar.lark``; turn lark's errors into one clear line.

A syntax error names what was expected, what came before it on the way there and what was
found, at the line and column of the offending token:
``rules.dqdl:3:17: expected a value after 'between 1 and', found ']'``.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedToken

from tidebox.core.errors import DqdlSyntaxError, InputFileError
from tidebox.quality.dqdl.builder import build_ruleset
from tidebox.quality.dqdl.model import Ruleset

# what to call the terminals the parser expected, in the order they are listed; a terminal
# named in a later group is left out when an earlier group already covers it
_LITERAL = {"NUMBER", "STRING", "NOW", "VAR"}
_LITERAL |= {"NULL_U", "NULL_L", "EMPTY_U", "EMPTY_L", "WHITESPACES_ONLY_U", "WHITESPACES_ONLY_L"}
_VALUE = _LITERAL | {"MINUS", "LPAR", "NAME"}
_CONDITION = {"NE", "GT", "GE", "LT", "LE", "BETWEEN", "IN", "MATCHES", "NOT"}
_PHRASES: tuple[tuple[frozenset[str], str], ...] = (
    (frozenset({"ANALYZERS"}), "'Analyzers'"),
    (frozenset({"BARE"}), "a parameter"),
    (frozenset({"EQ"}), "'='"),
    (frozenset({"LPAR"}), "'('"),
    (frozenset({"WHERE"}), "'where'"),
    (frozenset({"WITH"}), "'with threshold'"),
    (frozenset({"THRESHOLD"}), "'threshold'"),
    (frozenset({"LABELS"}), "'labels'"),
    (frozenset({"_AND_L", "_AND_U"}), "'and'"),
    (frozenset({"_OR_L", "_OR_U"}), "'or'"),
    (frozenset({"COMMA"}), "','"),
    (frozenset({"COLON"}), "':'"),
    (frozenset({"LSQB"}), "'['"),
    (frozenset({"RSQB"}), "']'"),
    (frozenset({"LBRACE"}), "'{'"),
    (frozenset({"RBRACE"}), "'}'"),
    (frozenset({"RPAR"}), "')'"),
    (frozenset({"DURATION_UNIT"}), "a unit (days, hours, minutes)"),
    (frozenset({"SIZE_UNIT"}), "a unit (B, KB, MB, GB, TB)"),
    (frozenset({"ADD_OP", "MUL_OP"}), "an operator"),
    (frozenset({"$END"}), "the end of the input"),
)
_SECTIONS = ("Metadata", "DataSources", "DefaultLabels", "Rules", "Analyzers")
# terminals that only add noise to the list when something more telling is expected
_OPTIONAL = {"DURATION_UNIT", "SIZE_UNIT", "ADD_OP", "MUL_OP", "_OF_L", "_OF_U"}
# a clause starts at one of these: the context of a message goes back no further
_CLAUSE_STARTS = {"BETWEEN", "IN", "MATCHES", "WHERE", "WITH", "LABELS", "NOT"}
_CLOSERS = {"RSQB", "RBRACE"}
_DELIMITERS = {"LSQB", "COMMA", "LBRACE"} | _CLOSERS
_CONTEXT_TOKENS = 6


@functools.cache
def _lark() -> Lark:
    grammar = resources.files(__package__).joinpath("grammar.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", lexer="contextual", propagate_positions=True)


def parse_ruleset(text: str, source: str = "<inline>") -> Ruleset:
    """Parse a DQDL document; raise :class:`DqdlSyntaxError` (``source:line:column: ...``)."""
    return build_ruleset(_parse_tree(text, source), text, source)


def load_ruleset(path: Path) -> Ruleset:
    """Parse a ``.dqdl`` file; errors name the file as it was given."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # an editor's byte order mark is no rule
    except (OSError, UnicodeDecodeError) as error:
        raise InputFileError(str(path), f"cannot read the ruleset ({error})") from None
    return parse_ruleset(text, str(path))


def _parse_tree(text: str, source: str) -> Tree:
    interactive = _lark().parse_interactive(text)
    history: list[Token] = []
    try:
        for token in interactive.iter_parse():
            history.append(token)
        tree: Tree = interactive.feed_eof(history[-1] if history else None)
    except UnexpectedToken as error:
        raise _unexpected_token(error, history, text, source) from None
    except UnexpectedCharacters as error:
        raise _unexpected_characters(error, history, text, source) from None
    return tree


def _unexpected_token(
    error: UnexpectedToken, history: list[Token], text: str, source: str
) -> DqdlSyntaxError:
    token: Token = error.token
    if token.type == "$END":
        before = history
        line, column = _end_of(before[-1]) if before else (1, 1)
        found = "the end of the input"
    else:
        # the offending token is in the history when the parser refused it, not when the lexer
        # did (it then matched a terminal that has no place there)
        start = token.start_pos or 0
        before = [t for t in history if (t.start_pos or 0) < start]
        line, column = token.line or 1, token.column or 1
        found = _show(token)
    context = _context(before, text)
    after = f" after '{context}'" if context else ""
    accepted = _accepted(before) or set(error.expected)
    hint = ""
    if token.type in _CONDITION | {"EQ"} and "BARE" in accepted and not accepted & _CONDITION:
        hint = " (an analyzer takes no condition)"
    expected = _expected(accepted)
    return DqdlSyntaxError(source, line, column, f"expected {expected}{after}, found {found}{hint}")


def _unexpected_characters(
    error: UnexpectedCharacters, history: list[Token], text: str, source: str
) -> DqdlSyntaxError:
    if error.char != '"':
        return DqdlSyntaxError(
            source, error.line, error.column, f"unexpected character {error.char!r}"
        )
    # an unmatched quote: if an earlier string runs over a line break, its closing quote is
    # the likely missing one (its string swallowed the text up to the next quote)
    for token in history:
        if token.type == "STRING" and "\n" in token:
            return DqdlSyntaxError(
                source,
                token.line or 1,
                token.column or 1,
                "unterminated string: this string runs over a line break and the quotes "
                "after it do not pair up; is its closing quote missing?",
            )
    return DqdlSyntaxError(
        source, error.line, error.column, "unterminated string: no closing quote"
    )


def _accepted(before: list[Token]) -> set[str]:
    """The terminals the parser can really go on with after ``before``.

    Lark's own list comes from the LALR state, whose lookaheads are merged with those of other
    places in the grammar (it would offer 'and' after ``RowCount > 1``); replaying the tokens
    and trying each terminal gives the exact set.
    """
    replay = _lark().parse_interactive("")
    try:
        for token in before:
            replay.feed_token(token)
        return set(replay.accepts())
    except UnexpectedToken:  # cannot happen: these tokens were accepted once already
        return set()


def _expected(names: set[str]) -> str:
    if names - _OPTIONAL:
        names -= _OPTIONAL
    if "BARE" in names:  # a parameter's place: a string or a $variable is a parameter there
        names -= {"STRING", "VAR", "_AND_L", "_AND_U"}
    phrases = []
    if "BARE" in names:
        names.discard("BARE")
        phrases.append("a parameter")
    if names & {"RULES", "ANALYZERS"}:  # the top level: a NAME there starts a variable
        sections = [n for n in _SECTIONS if n.upper() in names]
        listed = ", ".join(sections)
        phrases.append(f"'{listed}'" if len(sections) == 1 else f"a section ({listed})")
        if "NAME" in names:
            phrases.append("a variable definition")
        names -= {n.upper() for n in _SECTIONS} | {"NAME"}
    elif {"NAME", "LPAR"} <= names and "NOW" not in names:  # a rule's place
        names -= {"NAME", "LPAR"}
        phrases.append("a rule")
    if names & _CONDITION:  # '=' among the comparisons is a condition, alone it is '='
        names -= _CONDITION | {"EQ"}
        phrases.append("a condition")
    if names & _LITERAL:
        names -= _VALUE
        phrases.append("a value")
    for group, phrase in _PHRASES:
        if names & group:
            phrases.append(phrase)
            names -= group
    phrases.extend(sorted(names))  # a terminal no group names: say it as lark calls it
    if len(phrases) == 1:
        return phrases[0]
    return ", ".join(phrases[:-1]) + " or " + phrases[-1]


def _context(before: list[Token], text: str) -> str:
    """The source text of the current clause up to the error (a few tokens at most).

    It goes back to the keyword that starts the clause (``between``, ``in``, ``where``...) or
    to the bracket or comma before the rule, keeping a comma or bracket right before the error.
    """
    taken: list[Token] = []
    for token in reversed(before):
        if (token.type in _DELIMITERS and taken) or len(taken) == _CONTEXT_TOKENS:
            break
        taken.append(token)
        if token.type in _CLAUSE_STARTS or token.type in _CLOSERS:
            break
    if not taken:
        return ""
    start, end = taken[-1].start_pos or 0, taken[0].end_pos or 0
    snippet = " ".join(text[start:end].split())
    return snippet if len(snippet) <= 50 else "..." + snippet[-47:]


def _show(token: Token) -> str:
    value = str(token)
    if token.type == "STRING":
        value = " ".join(value.split())
        return value if len(value) <= 40 else value[:37] + '..."'
    return f"'{value}'"


def _end_of(token: Token) -> tuple[int, int]:
    """Where the text right after ``token`` is (lark's end column is one past the token)."""
    return token.end_line or 1, token.end_column or 1
