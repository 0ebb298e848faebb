"""KDA's table functions over a cursor, ``FROM TABLE(f(CURSOR(SELECT STREAM ...), ...))``.

- ``RANDOM_CUT_FOREST`` and ``RANDOM_CUT_FOREST_WITH_EXPLANATION`` stay in Kinesis' cursor form
  with the cursor's query translated; the job loader rewrites that form (in every statement,
  :mod:`tidebox.flink.kinesis_calls`) into tidebox's forest function. The cursor's ``*`` is the
  stream's declared columns (KDA's ``*`` has no ROWTIME) and ROWTIME is added as the cursor's
  last column: the forest orders rows by the time attribute it finds in the cursor, and a
  timestamp is no number, so it is never scored. The call gives back the cursor's columns,
  ROWTIME, ``ANOMALY_SCORE`` (and ``ANOMALY_EXPLANATION``).
- ``TOP_K_ITEMS_TUMBLING(CURSOR(...), 'column', K, windowSeconds)`` is a window Top-N: a
  tumbling window on ROWTIME counts each value of the column, and the K most frequent values
  of each window come out with their count as ``MOST_FREQUENT_VALUES`` (BIGINT), most frequent
  first, at the window's end. KDA approximates the counts; exact ones are a valid answer.

The pieces of query translation this module needs come from :mod:`tidebox.flink.kda.query` as
:class:`Parts`, so that the two modules do not import each other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tidebox.core.errors import KdaSqlError
from tidebox.flink.kda.tokens import Token, closing, comma_items

FORESTS = ("RANDOM_CUT_FOREST", "RANDOM_CUT_FOREST_WITH_EXPLANATION")
TOP_K = "TOP_K_ITEMS_TUMBLING"
TOP_K_COUNT = "MOST_FREQUENT_VALUES"
MAX_K = 100000
MAX_WINDOW_SECONDS = 3600
RANK = "`$rank`"
PARAMETERS = ("numberOfTrees", "subSampleSize", "timeDecay", "shingleSize", "withDirectionality")


@dataclass(frozen=True)
class Parts:
    """What query translation lends this module: ``query`` translates a nested ``SELECT
    STREAM`` with its ROWTIME carried as a last column; ``render`` writes tokens as Flink SQL;
    ``columns`` gives the columns ``SELECT *`` stands for in the stream a FROM clause's tokens
    name (None if not known); ``name`` spells a stream or column token as Flink knows it
    (backquoted); ``interval`` writes seconds as a Flink interval; ``error`` places a problem."""

    query: Callable[[tuple[Token, ...]], str]
    render: Callable[[list[Token]], str]
    columns: Callable[[list[Token]], tuple[str, ...] | None]
    name: Callable[[Token], str]
    interval: Callable[[int], str]
    error: Callable[[Token, str], KdaSqlError]


@dataclass(frozen=True)
class TableCall:
    """A FROM clause's table function call in Flink SQL, and the columns ``SELECT *`` gives
    of it (None: not known, Flink's ``*`` is used)."""

    sql: str
    columns: tuple[str, ...] | None


def is_table_call(source: list[Token]) -> bool:
    """Whether a FROM clause's tokens (after FROM) start ``TABLE(name(``."""
    return (
        len(source) >= 4
        and source[0].is_word("TABLE")
        and source[1].is_symbol("(")
        and source[2].kind == "word"
        and source[3].is_symbol("(")
    )


def table_call(source: list[Token], parts: Parts) -> TableCall:
    """The Flink form of ``TABLE(f(CURSOR(...), ...)) [[AS] alias]``; KdaSqlError for any
    other function or a malformed call."""
    close_table = closing(source, 1, parts.error)
    close_call = closing(source, 3, parts.error)
    if close_call + 1 != close_table:
        raise parts.error(source[close_call + 1], "TABLE( ... ) holds one function call")
    function = source[2]
    alias = _alias(source[close_table + 1 :], parts)
    arguments = comma_items(source[4:close_call])
    if function.upper not in (*FORESTS, TOP_K):
        raise parts.error(function, f"TABLE({function.text}(...)) is not translated")
    if not arguments:
        raise parts.error(function, f"{function.upper} takes CURSOR(SELECT STREAM ...) first")
    cursor = _cursor(arguments[0], function, parts)
    if function.upper == TOP_K:
        return _top_k(function, cursor, arguments[1:], alias, parts)
    return _forest(function, cursor, arguments[1:], alias, parts)


def _forest(
    function: Token, cursor: list[Token], arguments: list[list[Token]], alias: str, parts: Parts
) -> TableCall:
    limit = 5 if function.upper.endswith("_WITH_EXPLANATION") else 4
    if len(arguments) > limit:
        raise parts.error(
            arguments[limit][0], f"{function.upper} takes at most {limit} parameters after CURSOR"
        )
    literals = []
    for index, argument in enumerate(arguments):  # ranges are checked as Flink plans the call
        whole = argument[0].kind == "number" and argument[0].text.isdigit()
        literal = len(argument) == 1 and (
            whole if index < 4 else argument[0].is_word("TRUE", "FALSE")
        )
        if not literal:
            kind = "a whole number" if index < 4 else "TRUE or FALSE"
            raise parts.error(argument[0], f"{function.upper}: {PARAMETERS[index]} is {kind}")
        literals.append(argument[0].text.upper())
    query = parts.query(tuple(cursor))
    args = ", ".join([f"CURSOR({query})", *literals])
    scored = _cursor_columns(cursor, parts)
    added = ("ANOMALY_SCORE", "ANOMALY_EXPLANATION")[: 1 if limit == 4 else 2]
    columns = None if scored is None else (*scored, *added)
    return TableCall(f"TABLE({function.upper}({args})){alias}", columns)


def _top_k(
    function: Token, cursor: list[Token], arguments: list[list[Token]], alias: str, parts: Parts
) -> TableCall:
    """``TOP_K_ITEMS_TUMBLING(CURSOR(SELECT STREAM ... FROM s [WHERE ...]), 'c', K, seconds)``
    as a window Top-N on the ROWTIME of ``s``."""
    shape = "TOP_K_ITEMS_TUMBLING(CURSOR(...), 'columnName', K, windowSize)"
    if len(arguments) != 3:
        raise parts.error(function, f"{shape} takes 4 parameters, got {len(arguments) + 1}")
    named, k, size = arguments
    if len(named) != 1 or named[0].kind != "string":
        raise parts.error(named[0], f"{shape}: the column's name is in single quotes")
    count = _integer(k, "K", 1, MAX_K, parts)
    seconds = _integer(size, "windowSize (seconds)", 1, MAX_WINDOW_SECONDS, parts)
    stream, where = _cursor_source(cursor, parts)
    known = _cursor_columns(cursor, parts) or ()
    column = next((c for c in known if c.upper() == named[0].text.upper()), None)
    if column is None:
        raise parts.error(named[0], f"the cursor has no column {named[0].text!r}")
    value = f"`{column}`"
    counted = (
        f"SELECT {value}, COUNT(*) AS `{TOP_K_COUNT}`, window_start, window_end, window_time\n"
        f"FROM TABLE(TUMBLE(TABLE {stream[0]}, DESCRIPTOR(`ROWTIME`),"
        f" {parts.interval(seconds)})) AS {stream[1]}{where}\n"
        f"GROUP BY {value}, window_start, window_end, window_time"
    )
    ranked = (
        f"SELECT {value}, `{TOP_K_COUNT}`, window_time AS `ROWTIME`,"
        " ROW_NUMBER() OVER (PARTITION BY window_start, window_end"
        f" ORDER BY `{TOP_K_COUNT}` DESC) AS {RANK}\nFROM ({counted})"
    )
    top = f"(SELECT {value}, `{TOP_K_COUNT}`, `ROWTIME`\nFROM ({ranked})\nWHERE {RANK} <= {count})"
    return TableCall(top + (alias or f" AS `{TOP_K}`"), (column, TOP_K_COUNT))


def _cursor(argument: list[Token], function: Token, parts: Parts) -> list[Token]:
    """The query inside ``CURSOR( ... )``."""
    if (
        len(argument) < 4
        or not argument[0].is_word("CURSOR")
        or not argument[1].is_symbol("(")
        or not argument[-1].is_symbol(")")
        or closing(argument, 1, parts.error) != len(argument) - 1
        or not argument[2].is_word("SELECT")
    ):
        raise parts.error(argument[0], f"{function.upper} takes CURSOR(SELECT STREAM ...) first")
    return argument[2:-1]


def _cursor_columns(cursor: list[Token], parts: Parts) -> tuple[str, ...] | None:
    """The names of the cursor's columns: ``*`` is its stream's declared columns, a column its
    name, ``expression AS name`` the name; None when an item has no name."""
    clauses = _top_level(cursor)
    select = clauses.get("SELECT", [])
    body = select[2:] if len(select) > 1 and select[1].is_word("STREAM") else select[1:]
    if len(body) == 1 and body[0].is_symbol("*"):
        return parts.columns(clauses.get("FROM", [])[1:])
    names = []
    for item in comma_items(body):
        last = item[-1]
        named = (
            len(item) == 1 or item[-2].is_word("AS") or (len(item) == 3 and item[1].is_symbol("."))
        )
        if last.kind not in ("word", "quoted") or not named:
            return None
        names.append(parts.name(last).strip("`"))
    return tuple(names)


def _cursor_source(cursor: list[Token], parts: Parts) -> tuple[tuple[str, str], str]:
    """The stream a cursor reads (Flink name, alias) and its `` WHERE ...`` text: a
    TOP_K cursor is ``SELECT STREAM ... FROM stream [[AS] alias] [WHERE ...]``."""
    clauses = _top_level(cursor)
    for clause, tokens in clauses.items():
        if clause not in ("SELECT", "FROM", "WHERE"):
            raise parts.error(tokens[0], f"{TOP_K}'s cursor reads one stream: {clause} is not")
    source = clauses.get("FROM", [])[1:]
    if not source or source[0].kind not in ("word", "quoted"):
        raise parts.error(cursor[0], f"{TOP_K}'s cursor reads one stream: FROM stream")
    stream = parts.name(source[0])
    rest = source[1:]
    if rest and rest[0].is_word("AS"):
        rest = rest[1:]
    if len(rest) > 1:
        raise parts.error(rest[1], f"{TOP_K}'s cursor reads one stream (no JOIN)")
    alias = parts.name(rest[0]) if rest else stream
    where = clauses.get("WHERE")
    return (stream, alias), ("\nWHERE " + parts.render(where[1:]) if where else "")


def _integer(argument: list[Token], what: str, low: int, high: int, parts: Parts) -> int:
    if len(argument) != 1 or argument[0].kind != "number" or not argument[0].text.isdigit():
        raise parts.error(argument[0], f"{TOP_K}: {what} is a whole number")
    value = int(argument[0].text)
    if not low <= value <= high:
        raise parts.error(
            argument[0], f"{TOP_K}: {what} must be between {low} and {high}, got {value}"
        )
    return value


def _alias(rest: list[Token], parts: Parts) -> str:
    """`` AS `alias``` for the tokens after the call, or ''."""
    if rest and rest[0].is_word("AS"):
        rest = rest[1:]
    if not rest:
        return ""
    if len(rest) > 1 or rest[0].kind not in ("word", "quoted"):
        raise parts.error(rest[0], "a table function's call is followed by its alias only")
    return f" AS {parts.name(rest[0])}"


def _top_level(tokens: list[Token]) -> dict[str, list[Token]]:
    """A query's clauses at depth 0, by first keyword."""
    clauses: dict[str, list[Token]] = {}
    current, depth = "", 0
    keywords = ("SELECT", "FROM", "WHERE", "GROUP", "HAVING", "WINDOWED", "WINDOW", "ORDER")
    for token in tokens:
        depth += token.is_symbol("(") - token.is_symbol(")")
        if depth == 0 and token.kind == "word" and token.upper in keywords:
            current = token.upper
            clauses.setdefault(current, [])
        if current:
            clauses[current].append(token)
    return clauses
