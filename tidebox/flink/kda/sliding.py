"""KDA sliding windows and analytic functions (``agg(x) OVER W``, ``LAG``) in Flink SQL.

KDA's sliding window is SQL's OVER window with two differences in how it is written: there is
no ORDER BY (rows are ordered by ROWTIME) and the frame is only its start, the end being the
current row. So ``WINDOW W AS (PARTITION BY p RANGE INTERVAL '1' MINUTE PRECEDING)`` is
Flink's ``OVER (PARTITION BY p ORDER BY ROWTIME RANGE BETWEEN INTERVAL '1' MINUTE PRECEDING
AND CURRENT ROW)``, and ``ROWS 2 PRECEDING`` is ``ROWS BETWEEN 2 PRECEDING AND CURRENT ROW``
(three rows: KDA's too, "the three preceding and the current row" for ``ROWS 3``).
``RANGE CURRENT ROW`` and ``ROWS CURRENT ROW`` are zero-width windows (all rows of the same
ROWTIME; the current row). Both emit one row per input row, as KDA does.

Choices where KDA's documents are silent or disagree:

- A RANGE window's far edge is inclusive: a row exactly the interval before the current one is
  in it. SQL's RANGE, Flink's, and KDA's SQL reference agree ("RANGE CURRENT ROW is equivalent
  to RANGE INTERVAL '0' SECOND PRECEDING" and "contains all rows with the same timestamp",
  which only an inclusive edge gives); the developer guide's 5-second picture leaves the
  record at t1 out of the window at t6, which only an exclusive edge gives.
- Flink computes the aggregates of one SELECT over one window only ("All aggregates must be
  computed on the same window"). A query with several windows (the guide's example 3) becomes
  nested SELECTs, one window each, innermost first: each adds its aggregates as hidden columns
  to every row and keeps ROWTIME, the time attribute the next window orders by, so every level
  still emits one row per input row in ROWTIME order, and the outermost SELECT picks the
  columns. The result is the same as KDA computing all windows on each row.
- ``LAG(x, N, d) OVER W`` is the value N rows back in the partition, or ``d`` (NULL) when that
  row "falls outside the window" W. Flink's own LAG takes no frame and sees rows of the same
  ROWTIME as one (each would get the same LAG), where KDA orders them by arrival; so LAG is
  read from a ROWS window of N+1 rows: its first row (``FIRST_VALUE`` of a one-element array,
  so that a NULL there is returned, not skipped), when the window holds N+1 rows and that row
  is inside W (within W's interval of ROWTIME, or N <= W's rows).
- ``FIRST_VALUE(x)`` / ``LAST_VALUE(x)`` respect NULLs in KDA unless told ``IGNORE NULLS``;
  Flink's skip them. So the default form reads a one-element array (NULL inside is kept), and
  ``IGNORE NULLS`` is Flink's own function.

Refused with their place: windows KDA does not allow (UNBOUNDED, FOLLOWING, BETWEEN, ORDER BY,
``0 PRECEDING``), ``IGNORE NULLS`` but on FIRST_VALUE/LAST_VALUE, analytic functions other
than AVG, COUNT, MIN, MAX, SUM, FIRST_VALUE, LAST_VALUE and LAG, and sliding windows together
with GROUP BY, HAVING or over a JOIN.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tidebox.core.errors import KdaSqlError
from tidebox.flink.kda.tokens import Token, closing, comma_items, identifier

Error = Callable[[Token, str], KdaSqlError]
Render = Callable[[Sequence[Token]], str]

AGGREGATES = ("AVG", "COUNT", "MIN", "MAX", "SUM")
ANALYTIC = ("FIRST_VALUE", "LAST_VALUE", "LAG")
_UNITS = ("SECOND", "MINUTE", "HOUR")
_ROWTIME = "`ROWTIME`"
_REFUSED = {
    "UNBOUNDED": "an UNBOUNDED window is not allowed in KDA (a window reaches back a fixed "
    "interval or number of rows)",
    "FOLLOWING": "a FOLLOWING window is not allowed in KDA (a window ends at the current row)",
    "BETWEEN": "RANGE/ROWS BETWEEN is not KDA's (write RANGE INTERVAL 'n' unit PRECEDING or "
    "ROWS n PRECEDING; the window ends at the current row)",
    "ORDER": "ORDER BY in a window is not KDA's (windows are ordered by ROWTIME)",
}


@dataclass(frozen=True)
class Frame:
    """One window: its PARTITION BY (Flink SQL), RANGE (``seconds``) or ROWS (``rows``)."""

    partition: str
    rows: int | None
    seconds: int | None
    interval: str  # the RANGE interval as Flink SQL ("" for ROWS)

    @property
    def sql(self) -> str:
        """The window as Flink writes it, ending at the current row."""
        part = f"PARTITION BY {self.partition} " if self.partition else ""
        if self.rows is not None:
            bound = f"ROWS BETWEEN {self.rows} PRECEDING AND CURRENT ROW"
        else:
            bound = f"RANGE BETWEEN {self.interval} PRECEDING AND CURRENT ROW"
        return f"{part}ORDER BY {_ROWTIME} {bound}"


@dataclass(frozen=True)
class _Use:
    """One ``f(...) OVER w`` in the select list: tokens [start, end), and the aggregates it
    needs (frame, Flink aggregate call) that fill ``template``'s ``{0}``, ``{1}``..."""

    start: int
    end: int
    pieces: tuple[tuple[Frame, str], ...]
    template: str


def translate_sliding(
    clauses: dict[str, list[Token]], render: Render, error: Error, carry_rowtime: bool
) -> str | None:
    """The Flink SQL of a query with sliding windows (OVER), or None when it has none."""
    select = clauses.get("SELECT", [])
    body = select[2:] if len(select) > 1 and select[1].is_word("STREAM") else select[1:]
    if "WINDOW" not in clauses and not any(t.is_word("OVER") for t in body):
        return None
    for clause, part in clauses.items():
        if clause not in ("SELECT", "FROM", "WHERE", "WINDOW"):
            raise error(part[0], f"{clause} together with a sliding window (OVER) "
                                 "is not translated")  # fmt: skip
    windows = _windows(clauses.get("WINDOW", []), render, error)
    uses = _uses(body, windows, render, error)
    if uses:
        _one_source(clauses.get("FROM", []), error)
    frames: list[Frame] = []
    for use in uses:
        for frame, _ in use.pieces:
            if frame not in frames:
                frames.append(frame)
    columns: dict[tuple[Frame, str], str] = {}
    if len(frames) > 1:
        for use in uses:
            for piece in use.pieces:
                columns.setdefault(piece, f"`$w{len(columns)}`")
    listed = _select_list(body, uses, columns, render)
    if carry_rowtime:
        listed += f", {_ROWTIME}"
    source = render(clauses.get("FROM", []))
    where = "\n" + render(clauses["WHERE"]) if "WHERE" in clauses else ""
    if len(frames) <= 1:
        return f"SELECT {listed}\n{source}{where}"
    alias = _alias(clauses.get("FROM", []), render, error)
    inner = ""
    for frame in frames:
        added = ", ".join(f"{call} OVER ({f.sql}) AS {name}"
                          for (f, call), name in columns.items() if f == frame)  # fmt: skip
        start = f"{source}{where}" if not inner else f"FROM ({inner}) AS {alias}"
        inner = f"SELECT *, {added}\n{start}"
    return f"SELECT {listed}\nFROM ({inner}) AS {alias}"


def _select_list(
    body: list[Token], uses: list[_Use], columns: dict[tuple[Frame, str], str], render: Render
) -> str:
    """The select list with each OVER use written as Flink SQL (inline windows, or the hidden
    columns of the nested SELECTs)."""
    parts: list[str] = []
    at = 0
    for use in uses:
        if at < use.start:
            parts.append(render(body[at : use.start]))
        filled = [columns.get(piece) or f"{piece[1]} OVER ({piece[0].sql})" for piece in use.pieces]
        parts.append(use.template.format(*filled))
        at = use.end
    if at < len(body):
        parts.append(render(body[at:]))
    text = ""
    for part in parts:
        glue = "" if not text or text.endswith("(") or part.startswith((",", ")")) else " "
        text += glue + part
    return text


def _windows(clause: list[Token], render: Render, error: Error) -> dict[str, Frame]:
    """The named windows of a ``WINDOW name AS (...), ...`` clause."""
    windows: dict[str, Frame] = {}
    items = comma_items(clause[1:])
    if clause and not items:
        raise error(clause[0], "WINDOW names no window")
    for item in items:
        if len(item) < 4 or item[0].kind not in ("word", "quoted") or not item[1].is_word("AS"):
            raise error(item[0], "a window is written name AS (PARTITION BY ... RANGE|ROWS ...)")
        if not item[2].is_symbol("(") or closing(item, 2, error) != len(item) - 1:
            raise error(item[2], "a window's definition is in parentheses")
        windows[identifier(item[0])] = _frame(item[3:-1], item[2], render, error)
    return windows


def _frame(spec: list[Token], at: Token, render: Render, error: Error) -> Frame:
    """A window definition (inside its parentheses) as a Flink frame."""
    for token in spec:
        if token.upper in _REFUSED:
            raise error(token, _REFUSED[token.upper])
    kind = next((i for i, t in enumerate(spec) if t.is_word("RANGE", "ROWS")), None)
    if kind is None:
        raise error(spec[0] if spec else at, "a window needs RANGE INTERVAL 'n' unit PRECEDING, "
                                              "ROWS n PRECEDING or CURRENT ROW")  # fmt: skip
    partition = ""
    if kind:
        if len(spec) < 3 or not spec[0].is_word("PARTITION") or not spec[1].is_word("BY"):
            raise error(spec[0], "a window has PARTITION BY columns, then RANGE or ROWS")
        if kind == 2:
            raise error(spec[1], "PARTITION BY names no column")
        partition = ", ".join(render(i) for i in comma_items(spec[2:kind]))
    head, rest = spec[kind], spec[kind + 1 :]
    if len(rest) == 2 and rest[0].is_word("CURRENT") and rest[1].is_word("ROW"):
        if head.is_word("ROWS"):
            return Frame(partition, 0, None, "")
        return Frame(partition, None, 0, "INTERVAL '0' SECOND")
    if head.is_word("ROWS"):
        if len(rest) == 2 and rest[0].kind == "number" and rest[1].is_word("PRECEDING"):
            return Frame(partition, _count(rest[0], error), None, "")
        raise error(rest[0] if rest else head, "ROWS takes n PRECEDING or CURRENT ROW")
    if (
        len(rest) == 4
        and rest[0].is_word("INTERVAL")
        and rest[1].kind == "string"
        and rest[3].is_word("PRECEDING")
    ):
        if rest[2].upper not in _UNITS:
            raise error(
                rest[2], f"a RANGE interval is in SECOND, MINUTE or HOUR, not {rest[2].text}"
            )
        amount = _count(rest[1], error)
        seconds = amount * {"SECOND": 1, "MINUTE": 60, "HOUR": 3600}[rest[2].upper]
        digits = max(2, len(str(amount)))
        return Frame(partition, None, seconds, f"INTERVAL '{amount}' {rest[2].upper}({digits})")
    raise error(rest[0] if rest else head, "RANGE takes INTERVAL 'n' SECOND|MINUTE|HOUR "
                                           "PRECEDING or CURRENT ROW")  # fmt: skip


def _count(token: Token, error: Error) -> int:
    """A window's size: a whole number above 0 (0 is written CURRENT ROW, as KDA requires)."""
    text = token.text.strip()
    if not text.isdigit():
        raise error(token, f"a window's size is a whole number, not {token.text!r}")
    if int(text) == 0:
        raise error(token, "0 PRECEDING is not allowed in KDA: write CURRENT ROW")
    return int(text)


def _uses(body: list[Token], windows: dict[str, Frame], render: Render, error: Error) -> list[_Use]:
    """Every ``f(...) [IGNORE|RESPECT NULLS] OVER w`` of the select list, in order."""
    uses: list[_Use] = []
    for index, token in enumerate(body):
        if not token.is_word("OVER"):
            continue
        close = index - 1
        ignore = None
        if close >= 1 and body[close].is_word("NULLS"):
            ignore = body[close - 1] if body[close - 1].is_word("IGNORE") else None
            close -= 2
        if close < 2 or not body[close].is_symbol(")"):
            raise error(token, "OVER follows a function call, as in AVG(price) OVER w")
        open_at = _opening(body, close, error)
        name = body[open_at - 1] if open_at else token
        if name.upper not in (*AGGREGATES, *ANALYTIC):
            raise error(name, f"{name.text}(...) OVER is not translated (sliding windows take "
                              f"{', '.join((*AGGREGATES, *ANALYTIC))})")  # fmt: skip
        if ignore is not None and not name.is_word("FIRST_VALUE", "LAST_VALUE"):
            raise error(ignore, f"IGNORE NULLS with {name.text} is not translated")
        frame, end = _over(body, index, windows, render, error)
        args = comma_items(body[open_at + 1 : close])
        if name.is_word("LAG"):
            pieces, template = _lag(name, args, frame, render, error)
        elif name.is_word("FIRST_VALUE", "LAST_VALUE") and ignore is None:
            if len(args) != 1:
                raise error(name, f"{name.text} takes one expression")
            call = f"{name.text.upper()}(ARRAY[({render(args[0])})])"
            pieces, template = ((frame, call),), "{0}[1]"
        else:
            pieces, template = ((frame, render(body[open_at - 1 : close + 1])),), "{0}"
        uses.append(_Use(open_at - 1, end, pieces, template))
    return uses


def _over(
    body: list[Token], index: int, windows: dict[str, Frame], render: Render, error: Error
) -> tuple[Frame, int]:
    """The window after the OVER at ``index`` (a name or an inline definition), and where
    the use ends."""
    if index + 1 >= len(body):
        raise error(body[index], "OVER names a window or defines one in parentheses")
    after = body[index + 1]
    if after.is_symbol("("):
        end = closing(body, index + 1, error)
        return _frame(body[index + 2 : end], after, render, error), end + 1
    if after.kind in ("word", "quoted"):
        name = identifier(after)
        if name not in windows:
            raise error(after, f"no window named {after.text} (WINDOW {after.text} AS (...))")
        return windows[name], index + 2
    raise error(after, "OVER names a window or defines one in parentheses")


def _lag(
    name: Token, args: list[list[Token]], frame: Frame, render: Render, error: Error
) -> tuple[tuple[tuple[Frame, str], ...], str]:
    """``LAG(expr [, N [, default]])`` over ``frame``: see the module's note."""
    if not args or len(args) > 3:
        raise error(name, "LAG takes (expr [, N [, default]])")
    back = 1
    if len(args) > 1:
        if len(args[1]) != 1 or args[1][0].kind != "number":
            raise error(args[1][0], "LAG's N is a whole number")
        back = _count(args[1][0], error)
    default = render(args[2]).replace("{", "{{").replace("}", "}}") if len(args) > 2 else "NULL"
    rows = Frame(frame.partition, back, None, "")
    pieces = (
        (rows, "COUNT(*)"),
        (rows, f"FIRST_VALUE({_ROWTIME})"),
        (rows, f"FIRST_VALUE(ARRAY[({render(args[0])})])"),
    )
    if frame.rows is not None:
        inside = "TRUE" if back <= frame.rows else "FALSE"
    else:
        inside = f"{{1}} >= {_ROWTIME} - {frame.interval}"
    template = f"CASE WHEN {{0}} = {back + 1} AND {inside} THEN {{2}}[1] ELSE {default} END"
    return pieces, template


def _one_source(source: list[Token], error: Error) -> None:
    """Refuse a sliding window over a JOIN: whose ROWTIME would it order by (KDA's joins put
    their windows on the joined stream, ``JOIN s OVER (...)``)?"""
    depth = 0
    for token in source[1:]:
        depth += token.is_symbol("(") - token.is_symbol(")")
        if depth == 0 and (token.is_word("JOIN") or token.is_symbol(",")):
            raise error(token, "a sliding window (OVER) over a JOIN is not translated")


def _alias(source: list[Token], render: Render, error: Error) -> str:
    """The name the FROM's rows go by (its alias, or the stream's name): the nested SELECTs
    of several windows keep it, so that ``alias.column`` still resolves."""
    if len(source) < 2:
        raise error(source[0] if source else Token("word", "", 1, 1), "FROM names no stream")
    rest = source[2:]
    if source[1].is_symbol("("):
        rest = source[closing(source, 1, error) + 1 :]
    if rest and rest[0].is_word("AS"):
        rest = rest[1:]
    if len(rest) > 1:
        raise error(rest[1], "a sliding window (OVER) over a JOIN is not translated")
    if rest:
        return render(rest[:1])
    if source[1].is_symbol("("):
        return "`$from`"
    return render(source[1:2])


def _opening(tokens: Sequence[Token], close_at: int, error: Error) -> int:
    depth = 0
    for index in range(close_at, -1, -1):
        depth += tokens[index].is_symbol(")") - tokens[index].is_symbol("(")
        if depth == 0:
            return index
    raise error(tokens[close_at], "this parenthesis is never opened")
