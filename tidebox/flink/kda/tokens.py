"""The tokens of a Kinesis Data Analytics SQL application, each with its line and column.

KDA SQL (SQLstream's dialect of SQL:2008) quotes identifiers with double quotes, which keeps
their case; an identifier without quotes is read in upper case. Strings are in single quotes
('it''s'), comments run from ``--`` to the end of the line or between ``/*`` and ``*/``.
Every token keeps where it was written, so that a construct tidebox does not translate is
named with its line and column before any job starts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from tidebox.core.errors import KdaSqlError

Kind = Literal["word", "quoted", "string", "number", "symbol"]


@dataclass(frozen=True)
class Token:
    """One token: ``word`` (a keyword or an unquoted identifier, as written), ``quoted`` (a
    double-quoted identifier, without its quotes), ``string`` (a literal, without its quotes),
    ``number`` or ``symbol``."""

    kind: Kind
    text: str
    line: int
    column: int

    @property
    def upper(self) -> str:
        return self.text.upper() if self.kind == "word" else ""

    def is_word(self, *words: str) -> bool:
        """Whether this is one of the (upper-case) keywords ``words``."""
        return self.kind == "word" and self.text.upper() in words

    @property
    def is_rowtime(self) -> bool:
        """ROWTIME, written plain or quoted ("ROWTIME" is the same system column)."""
        return self.is_word("ROWTIME") or (self.kind == "quoted" and self.text == "ROWTIME")

    def is_symbol(self, *symbols: str) -> bool:
        return self.kind == "symbol" and self.text in symbols


_PATTERNS = [
    ("space", r"\s+"),
    ("comment", r"--[^\n]*|/\*.*?\*/"),
    ("quoted", r'"(?:[^"]|"")*"'),
    ("string", r"'(?:[^']|'')*'"),
    ("number", r"\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?"),
    ("word", r"[A-Za-z_$][A-Za-z0-9_$]*"),
    ("symbol", r"<>|<=|>=|!=|\|\||::|[(),.;*+\-/<>=\[\]%]"),
]
_TOKEN = re.compile("|".join(f"(?P<{name}>{pattern})" for name, pattern in _PATTERNS), re.DOTALL)


def tokenize(text: str, source: str) -> list[Token]:
    """The tokens of ``text`` (comments and spaces dropped); a character that starts no token,
    or a quote never closed, is a :class:`KdaSqlError` at its place."""
    tokens: list[Token] = []
    position, line, line_start = 0, 1, 0
    while position < len(text):
        found = _TOKEN.match(text, position)
        column = position - line_start + 1
        if found is None:
            char = text[position]
            problem = (
                f"a {'string' if char == chr(39) else 'quoted name'} is never closed"
                if char in "'\""
                else f"unexpected character {char!r}"
            )
            raise KdaSqlError(source, line, column, problem)
        kind = found.lastgroup or ""
        value = found.group()
        if kind == "quoted":
            tokens.append(Token("quoted", value[1:-1].replace('""', '"'), line, column))
        elif kind == "string":
            tokens.append(Token("string", value[1:-1].replace("''", "'"), line, column))
        elif kind in ("number", "word", "symbol"):
            tokens.append(Token(kind, value, line, column))  # type: ignore[arg-type]
        newlines = value.count("\n")
        if newlines:
            line += newlines
            line_start = position + value.rfind("\n") + 1
        position = found.end()
    return tokens


def split_statements(tokens: list[Token]) -> list[list[Token]]:
    """The statements of an application: tokens between semicolons, empty ones dropped."""
    statements: list[list[Token]] = [[]]
    for token in tokens:
        if token.is_symbol(";"):
            statements.append([])
        else:
            statements[-1].append(token)
    return [s for s in statements if s]


def identifier(token: Token) -> str:
    """The name a token stands for: a quoted one as written, an unquoted one in upper case."""
    return token.text if token.kind == "quoted" else token.text.upper()


def split_top(tokens: Sequence[Token], at: Callable[[Token], bool]) -> list[list[Token]]:
    """``tokens`` split where ``at`` holds outside parentheses (no parts for no tokens)."""
    parts: list[list[Token]] = [[]]
    depth = 0
    for token in tokens:
        depth += token.is_symbol("(") - token.is_symbol(")")
        if depth == 0 and at(token):
            parts.append([])
        else:
            parts[-1].append(token)
    return parts if any(parts) else []


def comma_items(tokens: Sequence[Token]) -> list[list[Token]]:
    """The comma-separated items outside parentheses, empty ones dropped."""
    return [item for item in split_top(tokens, lambda t: t.is_symbol(",")) if item]


def closing(tokens: Sequence[Token], open_at: int, error: Callable[[Token, str], Exception]) -> int:
    """The index of the parenthesis that closes the one at ``open_at``; ``error`` (at that
    token) when it is never closed."""
    depth = 0
    for index in range(open_at, len(tokens)):
        depth += tokens[index].is_symbol("(") - tokens[index].is_symbol(")")
        if depth == 0:
            return index
    raise error(tokens[open_at], "this parenthesis is never closed")
