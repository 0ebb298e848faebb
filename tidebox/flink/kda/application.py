"""A Kinesis Data Analytics SQL application read into its streams and pumps.

An application is a list of statements, each one of:

- ``CREATE [OR REPLACE] STREAM name (column type, ...) [DESCRIPTION '...']``: an
  in-application stream;
- ``CREATE [OR REPLACE] PUMP name AS INSERT INTO stream [(columns)] SELECT STREAM ...``: a
  continuous query that feeds one stream from others.

``SOURCE_SQL_STREAM_001`` (the input's in-application stream) is not declared: KDA creates it
from the input's schema. Anything else (a CREATE TABLE, a bare SELECT, a pump without INSERT)
is refused with its line and column.
"""

from __future__ import annotations

from dataclasses import dataclass

from tidebox.core.errors import KdaSqlError
from tidebox.flink.kda.tokens import Token, identifier, split_statements, tokenize

SOURCE_STREAM = "SOURCE_SQL_STREAM_001"
DESTINATION_STREAM = "DESTINATION_SQL_STREAM"


@dataclass(frozen=True)
class Column:
    name: str
    kda_type: str  # as written, upper case: VARCHAR(4), DOUBLE, TIMESTAMP...
    at: Token | None = None  # the column's name, for messages about its type


@dataclass(frozen=True)
class InAppStream:
    name: str
    columns: tuple[Column, ...]
    at: Token


@dataclass(frozen=True)
class Pump:
    name: str
    target: str
    columns: tuple[str, ...]  # the INSERT's column list; empty: the target's, in order
    query: tuple[Token, ...]  # from SELECT on
    at: Token


@dataclass(frozen=True)
class Application:
    source: str  # the file, for messages
    streams: dict[str, InAppStream]
    pumps: tuple[Pump, ...]

    def error(self, token: Token, problem: str) -> KdaSqlError:
        return KdaSqlError(self.source, token.line, token.column, problem)


def parse_application(text: str, source: str) -> Application:
    """The streams and pumps of an application's text, in order."""
    streams: dict[str, InAppStream] = {}
    pumps: list[Pump] = []
    for statement in split_statements(tokenize(text, source)):
        reader = _Reader(statement, source)
        reader.expect_word("CREATE")
        if reader.accept_word("OR"):
            reader.expect_word("REPLACE")
        kind = reader.next("STREAM or PUMP")
        if kind.is_word("STREAM"):
            stream = _stream(reader)
            streams[stream.name] = stream
        elif kind.is_word("PUMP"):
            pumps.append(_pump(reader))
        else:
            raise reader.error(
                kind, f"CREATE {kind.text} is not translated (an application is STREAMs and PUMPs)"
            )
    if not pumps:
        raise KdaSqlError(source, 1, 1, "the application has no CREATE PUMP: nothing would run")
    for pump in pumps:
        if pump.target not in streams:
            raise KdaSqlError(
                source,
                pump.at.line,
                pump.at.column,
                f'pump "{pump.name}" inserts into "{pump.target}", which no CREATE STREAM declares',
            )
    return Application(source, streams, tuple(pumps))


def _stream(reader: _Reader) -> InAppStream:
    name_token = reader.name("a stream name")
    if identifier(name_token) == SOURCE_STREAM:
        raise reader.error(name_token, f"{SOURCE_STREAM} is the input's stream: it is not declared")
    reader.expect_symbol("(")
    columns: list[Column] = []
    while True:
        column = reader.name("a column name")
        columns.append(Column(identifier(column), _type(reader), column))
        if reader.accept_symbol(")"):
            break
        reader.expect_symbol(",")
    if reader.accept_word("DESCRIPTION"):
        reader.next("a description")
    reader.end()
    return InAppStream(identifier(name_token), tuple(columns), name_token)


def _type(reader: _Reader) -> str:
    """A column type as written (``VARCHAR(4)``, ``DECIMAL(19,5)``, ``DOUBLE PRECISION``),
    ``NOT NULL`` dropped."""
    parts = [reader.next("a column type").text.upper()]
    if parts[0] == "DOUBLE" and reader.accept_word("PRECISION"):
        parts = ["DOUBLE"]
    if reader.accept_symbol("("):
        sizes = [reader.next("a size").text]
        while reader.accept_symbol(","):
            sizes.append(reader.next("a size").text)
        reader.expect_symbol(")")
        parts[0] += f"({','.join(sizes)})"
    if reader.accept_word("NOT"):
        reader.expect_word("NULL")
    return parts[0]


def _pump(reader: _Reader) -> Pump:
    name_token = reader.name("a pump name")
    reader.expect_word("AS")
    insert = reader.expect_word("INSERT")
    reader.expect_word("INTO")
    target = identifier(reader.name("a stream name"))
    columns: list[str] = []
    if reader.accept_symbol("("):
        while True:
            columns.append(identifier(reader.name("a column name")))
            if reader.accept_symbol(")"):
                break
            reader.expect_symbol(",")
    query = reader.rest()
    if not query or not query[0].is_word("SELECT"):
        at = query[0] if query else insert
        raise reader.error(at, "a pump inserts the rows of a SELECT STREAM query")
    return Pump(identifier(name_token), target, tuple(columns), tuple(query), name_token)


class _Reader:
    """Reads one statement's tokens in order, with errors at the token that is wrong."""

    def __init__(self, tokens: list[Token], source: str) -> None:
        self.tokens = tokens
        self.source = source
        self.index = 0

    def error(self, token: Token, problem: str) -> KdaSqlError:
        return KdaSqlError(self.source, token.line, token.column, problem)

    def _last(self) -> Token:
        return self.tokens[-1]

    def next(self, wanted: str) -> Token:
        if self.index >= len(self.tokens):
            last = self._last()
            raise self.error(last, f"expected {wanted} after '{last.text}'")
        token = self.tokens[self.index]
        self.index += 1
        return token

    def peek(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def accept_word(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token.is_word(word):
            self.index += 1
            return True
        return False

    def accept_symbol(self, symbol: str) -> bool:
        token = self.peek()
        if token is not None and token.is_symbol(symbol):
            self.index += 1
            return True
        return False

    def expect_word(self, word: str) -> Token:
        token = self.next(word)
        if not token.is_word(word):
            raise self.error(token, f"expected {word}, found '{token.text}'")
        return token

    def expect_symbol(self, symbol: str) -> Token:
        token = self.next(f"'{symbol}'")
        if not token.is_symbol(symbol):
            raise self.error(token, f"expected '{symbol}', found '{token.text}'")
        return token

    def name(self, wanted: str) -> Token:
        token = self.next(wanted)
        if token.kind not in ("word", "quoted"):
            raise self.error(token, f"expected {wanted}, found '{token.text}'")
        return token

    def rest(self) -> list[Token]:
        rest = self.tokens[self.index :]
        self.index = len(self.tokens)
        return rest

    def end(self) -> None:
        token = self.peek()
        if token is not None:
            raise self.error(token, f"unexpected '{token.text}' at the end of the statement")
