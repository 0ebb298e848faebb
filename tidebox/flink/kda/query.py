"""One pump's ``SELECT STREAM`` in Flink SQL.

The rules, each with its own unit test:

- ``SELECT STREAM`` is Flink's ``SELECT``; ``"quoted"`` names are backquoted as written, and an
  unquoted name that is a known stream or column is matched without regard to case (KDA reads
  it in upper case; tidebox streams' columns are often lower case);
- a tumbling window, ``GROUP BY ..., STEP(s.ROWTIME BY INTERVAL 'n' unit)`` or
  ``FLOOR(s.ROWTIME TO unit)``, reads the stream through Flink's ``TUMBLE`` on its ROWTIME and
  groups by the window; that same STEP in the select list is the window's start, and a bare
  ROWTIME the window's end (the time the row is emitted);
- STEP on any other timestamp, ``STEP(t BY INTERVAL 'n' unit)``, is ``t`` rounded down to a
  multiple of the interval since the epoch (as KDA defines it), a scalar;
- sliding windows (``agg(x) OVER w``, ``WINDOW w AS (...)``, LAG) are sliding.py's;
- a parenthesized ``SELECT [STREAM]`` (a subquery) is translated by these same rules, and
  carries its rows' ROWTIME as a stream does;
- ``FLOOR((s.ROWTIME - TIMESTAMP '1970-01-01 00:00:00') SECOND / 10 TO SECOND)`` in GROUP BY
  (AWS's clickstream lab) is a tumbling window too, of ``n`` units;
- KDA's scalar functions are rewritten call by call (:mod:`tidebox.flink.kda.functions`), and
  each selected value is cast to the Flink type of the column it is inserted into, as KDA casts
  a pump's values to the target stream's declared types (:mod:`tidebox.flink.kda.types`);
- ``FROM TABLE(f(CURSOR(...), ...))`` (the forests, TOP_K_ITEMS_TUMBLING) is cursors.py's;
- ``ORDER BY`` a time batch of ROWTIME, then other keys, is ordering.py's;
- ``WINDOWED BY STAGGER(...)`` is stagger.py's;
- the queries the window rules write are cast to the declared types by position.

Clauses not translated yet are refused with their line and column.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from tidebox.core.errors import KdaSqlError
from tidebox.flink.kda import functions
from tidebox.flink.kda.cursors import Parts, is_table_call, table_call
from tidebox.flink.kda.ordering import ORDER_FILTER, sorted_source
from tidebox.flink.kda.sliding import translate_sliding
from tidebox.flink.kda.stagger import translate_stagger
from tidebox.flink.kda.tokens import Token, closing, comma_items, identifier

_CLAUSES = ("SELECT", "FROM", "WHERE", "GROUP", "HAVING", "WINDOWED", "WINDOW", "ORDER")
# WINDOW (sliding windows) and OVER are translate_sliding's (sliding.py)
_UNITS = {"SECOND": 1, "MINUTE": 60, "HOUR": 3600, "DAY": 86400}
_EPOCH = "TIMESTAMP '1970-01-01 00:00:00'"

Error = Callable[[Token, str], KdaSqlError]


@dataclass(frozen=True)
class Window:
    """A tumbling window on ROWTIME, and the GROUP BY item that asked for it."""

    seconds: int
    item: tuple[Token, ...]
    is_time: bool = True  # the item's value is the window's start (not an interval)

    @property
    def interval(self) -> str:
        return interval_sql(self.seconds)


def interval_sql(seconds: int) -> str:
    """An interval literal Flink accepts at any size (its SECOND field takes 2 digits)."""
    for unit in ("DAY", "HOUR", "MINUTE"):
        if seconds % _UNITS[unit] == 0:
            amount = seconds // _UNITS[unit]
            return f"INTERVAL '{amount}' {unit}({max(2, len(str(amount)))})"
    return f"INTERVAL '{seconds}' SECOND({max(2, len(str(seconds)))})"


@dataclass(frozen=True)
class Scope:
    """What a query can see: known names (upper case) as Flink spells them, and the columns
    ``SELECT *`` stands for in each stream (ROWTIME is never one of them, as in KDA)."""

    names: dict[str, str]
    columns: dict[str, tuple[str, ...]]


def translate_query(
    tokens: tuple[Token, ...],
    scope: Scope,
    error: Error,
    carry_rowtime: bool = False,
    types: tuple[str, ...] | None = None,
    views: list[str] | None = None,
) -> str:
    """The Flink SQL of one ``SELECT STREAM`` query. ``carry_rowtime`` adds the rows' ROWTIME
    as a last column (for a stream that other pumps read): the row's own, or a window's
    time (Flink's ``window_time``, its end less 1 ms: the time attribute Flink gives it).
    ``types`` (Flink types, one per selected value) casts each value to its column's type, as
    KDA does when a pump inserts into a stream. Statements the query needs run first (a
    stagger window's view) are added to ``views``."""
    names = scope.names
    clauses = _clauses(tokens, error)
    if "WINDOWED" in clauses:  # stagger windows: tidebox.flink.kda.stagger
        render = lambda part: _render(tuple(part), names, None, error)  # noqa: E731
        view, query = translate_stagger(clauses, names, render, error, carry_rowtime)
        (views if views is not None else []).append(view)
        return _retyped(query, types, carry_rowtime)

    def nested(inner: list[Token]) -> str:  # a subquery: a stream with its own ROWTIME
        return translate_query(tuple(inner), scope, error, carry_rowtime=True)

    sliding = translate_sliding(
        clauses, lambda part: _render(list(part), names, None, error, nested), error, carry_rowtime
    )
    if sliding is not None:
        return _retyped(sliding, types, carry_rowtime)
    window = _window(clauses.get("GROUP", []), error)
    parts = _parts(scope, error)
    source = clauses.get("FROM", [])[1:]
    call = table_call(source, parts) if is_table_call(source) else None  # see cursors.py
    order = clauses.get("ORDER")
    sort = None
    if order is not None:  # see ordering.py
        floor = lambda item: _rowtime_floor(item, error)  # noqa: E731
        where, grouped = clauses.get("WHERE"), "GROUP" in clauses
        sort = sorted_source(order, source, where, grouped, floor, parts).from_sql
    out: list[str] = []
    for clause, part in clauses.items():
        if sort is not None and clause in ("FROM", "WHERE", "ORDER"):
            if clause == "FROM":
                out.append(f"FROM {sort}")
            elif clause == "ORDER":
                out.append(f"WHERE {ORDER_FILTER}")
            continue
        if clause == "ORDER":
            continue  # the stream's own order
        if clause == "SELECT":
            body = part[2:] if len(part) > 1 and part[1].is_word("STREAM") else part[1:]
            listed = _star_columns(body, clauses.get("FROM", []), scope, error)
            if listed is None and call is not None and call.columns and _is_star(body):
                listed = ", ".join(f"`{c}`" for c in call.columns)
            if types is not None:
                listed = _typed(body, listed, types, part[0], (names, window, error))
            elif listed is None:
                listed = _render(body, names, window, error, nested)
            if carry_rowtime:
                windowed = window or sort is not None
                listed += ", window_time AS `ROWTIME`" if windowed else ", `ROWTIME`"
            out.append("SELECT " + listed)
        elif clause == "FROM" and call is not None:
            out.append(f"FROM {call.sql}")
        elif clause == "FROM" and window is not None:
            out.append("FROM " + _tumbling_source(part[1:], names, window, error))
        elif clause == "GROUP" and window is not None:
            items = [i for i in comma_items(list(part[2:])) if i != list(window.item)]
            rendered = [_render(i, names, window, error, nested) for i in items]
            windows = ["window_start", "window_end", "window_time"]  # window_time: ROWTIME
            out.append("GROUP BY " + ", ".join([*rendered, *windows]))
        else:
            out.append(_render(part, names, window, error, nested))
    return "\n".join(out)


def _parts(scope: Scope, error: Error) -> Parts:
    """What cursors.py and ordering.py need of this module's rules."""

    def columns(source: list[Token]) -> tuple[str, ...] | None:
        stream = _name(source[0], scope.names).strip("`") if source else ""
        return scope.columns.get(stream)

    return Parts(
        query=lambda tokens: translate_query(tokens, scope, error, carry_rowtime=True),
        render=lambda tokens: _render(tokens, scope.names, None, error),
        columns=columns,
        name=lambda token: _name(token, scope.names),
        interval=interval_sql,
        error=error,
    )


def _is_star(body: list[Token]) -> bool:
    return len(body) == 1 and body[0].is_symbol("*")


def _retyped(sql: str, types: tuple[str, ...] | None, carry_rowtime: bool) -> str:
    """``sql`` with its values cast to ``types`` by position (a query whose select list a
    window rule wrote): its columns renamed ``$c0``... in a derived table, ROWTIME kept."""
    if types is None:
        return sql
    rowtime = ["`ROWTIME`"] if carry_rowtime else []
    named = [f"`$c{i}`" for i in range(len(types))] + rowtime
    cast = [f"CAST(`$c{i}` AS {t})" for i, t in enumerate(types)] + rowtime
    return f"SELECT {', '.join(cast)}\nFROM ({sql}) AS `$typed` ({', '.join(named)})"


def _star_columns(body: list[Token], source: list[Token], scope: Scope, error: Error) -> str | None:
    """A lone ``*`` written out as the FROM stream's columns, or a subquery's (Flink's ``*``
    would add the ROWTIME they carry, which KDA's leaves out); None for any other list."""
    if not (len(body) == 1 and body[0].is_symbol("*") and len(source) >= 2):
        return None
    if source[1].is_symbol("(") and len(source) > 2 and source[2].is_word("SELECT"):
        inner = source[2 : closing(source, 1, error)]
        return ", ".join(_subquery_column(item, scope, error) for item in _select_items(inner))
    name = identifier(source[1])
    stream = scope.names.get(name.upper(), name)
    if stream in scope.columns:
        return ", ".join(f"`{c}`" for c in scope.columns[stream])
    return None


def _select_items(query: list[Token]) -> list[list[Token]]:
    """The items of a query's select list (after SELECT [STREAM], up to its FROM)."""
    start = 2 if len(query) > 1 and query[1].is_word("STREAM") else 1
    depth, end = 0, len(query)
    for index in range(start, len(query)):
        depth += query[index].is_symbol("(") - query[index].is_symbol(")")
        if depth == 0 and query[index].is_word("FROM"):
            end = index
            break
    return comma_items(query[start:end])


def _subquery_column(item: list[Token], scope: Scope, error: Error) -> str:
    """The name a subquery's select item gives its column: its alias, or the column it is."""
    if len(item) >= 2 and (item[-2].is_word("AS") or _bare_alias(item[-2], item[-1])):
        return _name(item[-1], scope.names)
    if item[-1].kind in ("word", "quoted") and (len(item) == 1 or item[-2].is_symbol(".")):
        return _name(item[-1], scope.names)
    raise error(item[0], "SELECT * from a subquery needs a name for each of its columns (AS)")


_NOT_ALIASES = {"NULL", "TRUE", "FALSE", "UNKNOWN", "END", *_UNITS, "MONTH", "YEAR"}
_NOT_BEFORE_ALIAS = {
    "AS", "IS", "NOT", "AND", "OR", "LIKE", "SIMILAR", "TO", "IN", "BETWEEN", "ESCAPE",
    "THEN", "ELSE", "WHEN", "CASE", "INTERVAL", "DISTINCT", "ALL",
}  # fmt: skip


def _typed(
    body: list[Token],
    star: str | None,
    types: tuple[str, ...],
    select: Token,
    context: tuple[dict[str, str], Window | None, Error],
) -> str:
    """The select list with each value cast to its column's type (its alias kept)."""
    names, window, error = context
    prefix = ""
    if body and body[0].is_word("DISTINCT", "ALL"):
        prefix, body = body[0].text.upper() + " ", body[1:]
    values: list[tuple[str, str]] = []
    if star is not None:
        values = [(column.strip(), "") for column in star.split(", ")]
    else:
        for item in comma_items(body):
            alias = ""
            if len(item) >= 3 and item[-2].is_word("AS"):
                alias, item = _render(item[-1:], {}, None, error), item[:-2]
            elif len(item) >= 2 and _bare_alias(item[-2], item[-1]):
                alias, item = _render(item[-1:], {}, None, error), item[:-1]
            values.append((_render(item, names, window, error), alias))
    if len(values) != len(types):
        counted = f"{len(values)} value{'s' * (len(values) != 1)}"
        raise error(select, f"the query selects {counted} for {len(types)} columns")
    cast = [f"CAST({value} AS {t}){f' AS {alias}' if alias else ''}"
            for (value, alias), t in zip(values, types, strict=True)]  # fmt: skip
    return prefix + ", ".join(cast)


def _bare_alias(before: Token, last: Token) -> bool:
    """Whether ``last`` names the value before it (``price p``), not part of it."""
    if last.kind not in ("word", "quoted") or last.upper in _NOT_ALIASES:
        return False
    if before.kind == "word":
        return before.upper not in _NOT_BEFORE_ALIAS
    return before.kind in ("quoted", "number", "string") or before.is_symbol(")")


def _clauses(tokens: tuple[Token, ...], error: Error) -> dict[str, list[Token]]:
    """The query's top-level clauses, by their first keyword."""
    clauses: dict[str, list[Token]] = {}
    current = ""
    depth = 0
    for token in tokens:
        if token.is_symbol("("):
            depth += 1
        elif token.is_symbol(")"):
            depth -= 1
        if depth == 0 and token.kind == "word" and token.upper in _CLAUSES:
            current = token.upper
            if current in clauses:
                raise error(token, f"a second {current} at this level is not translated yet")
            clauses[current] = []
        if not current:
            raise error(token, "a pump's query starts with SELECT")
        clauses[current].append(token)
    return clauses


def _window(group: list[Token], error: Error) -> Window | None:
    """The tumbling window a GROUP BY asks for on ROWTIME, if any."""
    windows = []
    for item in comma_items(group[2:]):
        seconds = _rowtime_floor(item, error)
        if seconds is not None:
            windows.append(Window(seconds, tuple(item), not item[2].is_symbol("(")))
    if len(windows) > 1:
        raise error(windows[1].item[0], "a second window on ROWTIME in one GROUP BY")
    return windows[0] if windows else None


def _rowtime_floor(item: list[Token], error: Error) -> int | None:
    """Seconds of ``STEP([s.]ROWTIME BY INTERVAL 'n' unit)`` or ``FLOOR([s.]ROWTIME TO unit)``;
    None for any other item."""
    if len(item) < 4 or not item[0].is_word("STEP", "FLOOR") or not item[1].is_symbol("("):
        return None
    inner = item[2:-1]
    if item[0].is_word("FLOOR") and inner and inner[0].is_symbol("("):
        return _interval_floor(inner, item[0], error)
    at = 0
    if len(inner) > 2 and inner[1].is_symbol("."):
        at = 2
    if at >= len(inner) or not inner[at].is_rowtime:
        return None
    rest = inner[at + 1 :]
    if item[0].is_word("FLOOR"):
        if len(rest) == 2 and rest[0].is_word("TO") and rest[1].upper in _UNITS:
            return _UNITS[rest[1].upper]
        raise error(item[0], "FLOOR(ROWTIME TO unit) takes SECOND, MINUTE, HOUR or DAY")
    return _step_seconds(rest, item[0], error)


def _interval_floor(inner: list[Token], at: Token, error: Error) -> int | None:
    """Seconds of the window ``FLOOR(([s.]ROWTIME - TIMESTAMP '1970-01-01 00:00:00') unit / n
    TO unit)``: the time since the epoch in ``unit``s, divided by ``n`` and rounded down, is
    the same for the rows of each ``n`` units since the epoch (a 10 s window with SECOND and
    10, as AWS's clickstream example groups). None when it is not ROWTIME's."""
    close = closing(inner, 0, error)
    difference, rest = inner[1:close], inner[close + 1 :]
    if len(difference) > 2 and difference[1].is_symbol("."):
        difference = difference[2:]
    if not difference or not difference[0].is_word("ROWTIME"):
        return None
    shape = "FLOOR((ROWTIME - TIMESTAMP '1970-01-01 00:00:00') unit / n TO unit)"
    epoch = (
        len(difference) == 4
        and difference[1].is_symbol("-")
        and difference[2].is_word("TIMESTAMP")
        and difference[3].kind == "string"
        and re.fullmatch(r"1970-01-01 00:00:00(\.0*)?", difference[3].text.strip()) is not None
    )
    count = 1
    if len(rest) == 5 and rest[1].is_symbol("/") and rest[2].text.isdigit():
        count, rest = int(rest[2].text), [rest[0], *rest[3:]]
    if not epoch or len(rest) != 3 or not rest[1].is_word("TO") or count < 1:
        raise error(at, f"a window on ROWTIME's interval since the epoch is {shape}")
    if rest[0].upper not in _UNITS or rest[0].upper != rest[2].upper:
        raise error(at, f"{shape} takes one unit twice: SECOND, MINUTE, HOUR or DAY")
    return count * _UNITS[rest[0].upper]


def _step_seconds(rest: list[Token], at: Token, error: Error) -> int:
    """``BY INTERVAL 'n' unit`` in seconds."""
    if (
        len(rest) == 4
        and rest[0].is_word("BY")
        and rest[1].is_word("INTERVAL")
        and rest[2].kind == "string"
        and rest[2].text.strip().isdigit()
        and rest[3].upper in _UNITS
    ):
        return int(rest[2].text.strip()) * _UNITS[rest[3].upper]
    raise error(at, "STEP takes (time BY INTERVAL 'n' SECOND|MINUTE|HOUR|DAY)")


def _tumbling_source(
    source: list[Token], names: dict[str, str], window: Window, error: Error
) -> str:
    """``FROM stream [[AS] alias]`` read through TUMBLE, under the stream's name (or alias)
    so that ``"stream".ROWTIME`` still resolves."""
    if not source or source[0].kind not in ("word", "quoted"):
        raise error(source[0] if source else window.item[0], "a window reads one stream")
    stream = _name(source[0], names)
    rest = source[1:]
    if rest and rest[0].is_word("AS"):
        rest = rest[1:]
    alias = _name(rest[0], names) if rest else stream
    if len(rest) > 1:
        raise error(rest[1], "a windowed query reads one stream (no JOIN yet)")
    return f"TABLE(TUMBLE(TABLE {stream}, DESCRIPTOR(`ROWTIME`), {window.interval})) AS {alias}"


def _name(token: Token, names: dict[str, str]) -> str:
    """A stream or alias as Flink must spell it: a known name as its table has it, any other
    as written, as :func:`_render` writes its uses (``FROM x AS s`` ... ``s.col``)."""
    if token.kind == "quoted":
        return f"`{token.text}`"
    return f"`{names.get(token.text.upper(), token.text)}`"


def _render(
    tokens: list[Token] | tuple[Token, ...],
    names: dict[str, str],
    window: Window | None,
    error: Error,
    nested: Callable[[list[Token]], str] | None = None,
) -> str:
    """Tokens as Flink SQL text, with the scalar rules applied; ``nested`` translates a
    parenthesized ``SELECT [STREAM]`` (a subquery)."""
    out: list[str] = []
    items = list(tokens)
    i = 0
    while i < len(items):
        token = items[i]
        if (
            nested
            and token.is_symbol("(")
            and i + 1 < len(items)
            and items[i + 1].is_word("SELECT")
        ):
            end = closing(items, i, error)
            out.append("(" + nested(items[i + 1 : end]) + ")")
            i = end + 1
            continue
        called = i + 1 < len(items) and items[i + 1].is_symbol("(")
        if token.is_word("STEP", "FLOOR") and called:
            end = closing(items, i + 1, error)
            call = items[i : end + 1]
            # the window itself, however written (s.ROWTIME, "ROWTIME", STEP or FLOOR)
            seconds = _rowtime_floor(call, error) if window is not None else None
            if window is not None and window.is_time and seconds == window.seconds:
                out.append("window_start")
                i = end + 1
                continue
            if token.is_word("STEP"):
                out.append(_scalar_step(call, names, window, error))
                i = end + 1
                continue
        if functions.is_call(token) and called:
            end = closing(items, i + 1, error)
            render = lambda part: _render(part, names, window, error, nested)  # noqa: E731
            out.append(functions.translate_call(items[i : end + 1], render, error))
            i = end + 1
            continue
        if token.is_word("CURRENT_ROW_TIMESTAMP"):
            out.append(functions.CURRENT_ROW)
        elif token.is_rowtime:  # s.ROWTIME too: the window's end, or the row's time
            out.append("window_end" if window is not None else "`ROWTIME`")
        elif token.kind == "quoted":
            out.append(f"`{token.text}`")
        elif token.kind == "word" and token.text.upper() in names:
            out.append(f"`{names[token.text.upper()]}`")
        elif token.kind == "string":
            out.append("'" + token.text.replace("'", "''") + "'")
        else:
            out.append(token.text)
        i += 1
    return _join(out)


def _scalar_step(call: list[Token], names: dict[str, str], window: Window | None,
                 error: Error) -> str:  # fmt: skip
    """``STEP(t BY INTERVAL 'n' unit)``: ``t`` rounded down to a multiple of the interval since
    1970-01-01 00:00:00, KDA's definition; counted in the largest unit that divides it."""
    inner = call[2:-1]
    by = next((k for k, t in enumerate(inner) if t.is_word("BY")), None)
    if by is None:
        raise error(call[0], "STEP takes (time BY INTERVAL 'n' SECOND|MINUTE|HOUR|DAY)")
    seconds = _step_seconds(inner[by:], call[0], error)
    value = _render(inner[:by], names, window, error)
    unit = next(u for u in ("DAY", "HOUR", "MINUTE", "SECOND") if seconds % _UNITS[u] == 0)
    count = seconds // _UNITS[unit]
    since = f"TIMESTAMPDIFF({unit}, {_EPOCH}, CAST({value} AS TIMESTAMP(3)))"
    return f"TIMESTAMPADD({unit}, ({since} / {count}) * {count}, {_EPOCH})"


def _join(parts: list[str]) -> str:
    """Tokens joined with spaces, none around '.', inside parentheses' edges nor between a
    function's name and its parenthesis."""
    text = ""
    for part in parts:
        call = part == "(" and text[-1:].isalnum()
        if not text or call or part in (".", ",", ")") or text.endswith((".", "(")):
            text += part
        else:
            text += " " + part
    return text
