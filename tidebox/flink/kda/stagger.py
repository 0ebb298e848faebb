"""KDA SQL's stagger windows in Flink SQL.

``WINDOWED BY STAGGER(PARTITION BY k1, k2 RANGE INTERVAL 'n' unit)`` takes the place of a
GROUP BY: per distinct tuple of keys a window opens at the ROWTIME of the tuple's first row,
aggregates the tuple's rows whose ROWTIME is before open + range, and closes at open + range,
where it emits one row stamped with that time; the tuple's next row opens its next window.
Flink has no such window (its session windows close on a gap, not an age, and its tumbling
ones are aligned to the epoch), so the query runs in two steps::

    CREATE TEMPORARY VIEW `STAGGER_<line>_<column>` AS
    SELECT * FROM TABLE(KDA_STAGGER(input => (
        SELECT *, ROW(<keys>) AS `STAGGER_KEY` FROM (
            SELECT *, <key expression> AS `STAGGER_KEY_1` FROM s WHERE ...)
        ) PARTITION BY `STAGGER_KEY`, on_time => DESCRIPTOR(`ROWTIME`),
        window_length => INTERVAL 'n' unit, uid => ...))

    SELECT <select list> FROM `STAGGER_<line>_<column>` AS s
    GROUP BY <keys>, TUMBLE(`rowtime`, INTERVAL '0.001' SECOND)
    HAVING ...

``KDA_STAGGER`` (tidebox's Java process table function, ``KdaStaggerFunction``) keeps each
key's rows until their window closes and releases them stamped with the close time (its
``rowtime``); a 1 ms tumbling window over that stamp then aggregates each window's rows into one
append-only row (a key's windows never close at the same time), with any of Flink's aggregates.
The window is Flink's group window (``GROUP BY TUMBLE(...)``): its window TVF over a PTF's
output fails in Flink 2.2's planner once ``window_time`` is grouped (the time attribute is lost
in a projection), and ``TUMBLE_ROWTIME`` gives intermediate streams their ROWTIME. Keys that
are expressions (``FLOOR(EVENT_TIME TO MINUTE)``) are columns of the view, and the select
list and HAVING name them by those columns. ROWTIME in the select list is the window's close,
``TUMBLE_START`` of the 1 ms window.

The function call sits in a view because Flink 2.2 fails to validate an ``INSERT INTO t
(columns)`` that calls a PTF itself (a NullPointerException); several keys are one ROW column
because a view's expanded text loses the parentheses of ``PARTITION BY (a, b)``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tidebox.core.errors import KdaSqlError
from tidebox.flink.kda.tokens import Token, comma_items, identifier

_UNITS = ("SECOND", "MINUTE", "HOUR", "DAY")
_RANGE = "RANGE INTERVAL 'n' SECOND|MINUTE|HOUR|DAY"
KEY = "STAGGER_KEY"  # the keys as one column, when there are several
_WINDOW = "`rowtime`, INTERVAL '0.001' SECOND"  # 1 ms windows over each stagger's close
CLOSE = f"TUMBLE_START({_WINDOW})"

Error = Callable[[Token, str], KdaSqlError]
Render = Callable[[Sequence[Token]], str]  # tokens as Flink SQL (names, quoting, STEP)


@dataclass(frozen=True)
class Key:
    """One partition key: as written, and the column that holds it in the view
    (its own name for a column, ``STAGGER_KEY_n`` for an expression)."""

    tokens: tuple[Token, ...]
    column: str
    computed: bool


@dataclass(frozen=True)
class Stagger:
    """A ``WINDOWED BY STAGGER`` clause: its keys, its range, and where it was written."""

    keys: tuple[Key, ...]
    amount: int
    unit: str
    at: Token

    @property
    def interval(self) -> str:
        """The window's length as a Flink interval (leading precision for any amount)."""
        digits = max(2, len(str(self.amount)))
        return f"INTERVAL '{self.amount}' {self.unit}({digits})"


def parse_stagger(clause: Sequence[Token], names: dict[str, str], error: Error) -> Stagger:
    """The ``WINDOWED BY STAGGER (PARTITION BY keys RANGE INTERVAL 'n' unit)`` clause (known
    names as Flink spells them); anything else is a :class:`KdaSqlError` at its place."""
    head = clause[0]
    if len(clause) < 3 or not clause[1].is_word("BY") or not clause[2].is_word("STAGGER"):
        at = clause[2] if len(clause) > 2 else head
        raise error(at, "WINDOWED BY takes STAGGER(PARTITION BY ... RANGE INTERVAL ...)")
    stagger = clause[2]
    if len(clause) < 5 or not clause[3].is_symbol("(") or not clause[-1].is_symbol(")"):
        raise error(stagger, "STAGGER takes (PARTITION BY keys RANGE INTERVAL 'n' unit)")
    inner = list(clause[4:-1])
    if len(inner) < 2 or not inner[0].is_word("PARTITION") or not inner[1].is_word("BY"):
        raise error(inner[0] if inner else stagger, "a stagger window needs PARTITION BY keys")
    depths = list(itertools.accumulate(t.is_symbol("(") - t.is_symbol(")") for t in inner))
    ranges = [i for i, t in enumerate(inner) if t.is_word("RANGE") and depths[i] == 0]
    if not ranges:
        raise error(stagger, f"a stagger window needs its length: {_RANGE}")
    written = comma_items(inner[2 : ranges[0]])
    if not written:
        raise error(inner[0], "a stagger window needs PARTITION BY keys")
    amount, unit = _length(inner[ranges[0] :], error)
    return Stagger(_keys(written, names), amount, unit, stagger)


def _length(tokens: list[Token], error: Error) -> tuple[int, str]:
    """``RANGE INTERVAL 'n' unit``: n and the unit."""
    if len(tokens) < 2 or not tokens[1].is_word("INTERVAL"):
        raise error(tokens[0], f"a stagger window's length is {_RANGE}")
    if len(tokens) < 3 or tokens[2].kind != "string" or not tokens[2].text.strip().isdigit():
        raise error(tokens[min(2, len(tokens) - 1)], f"a stagger window's length is {_RANGE}")
    if len(tokens) != 4 or tokens[3].upper not in _UNITS:
        unit = tokens[3] if len(tokens) > 3 else tokens[2]
        raise error(unit, f"a stagger window's length is {_RANGE}")
    amount = int(tokens[2].text.strip())
    if amount <= 0:
        raise error(tokens[2], "a stagger window's length must be more than 0")
    return amount, tokens[3].upper


def _keys(written: list[list[Token]], names: dict[str, str]) -> tuple[Key, ...]:
    """Each key with its column: a (qualified) column is itself, an expression is computed."""
    keys = []
    for number, item in enumerate(written, start=1):
        plain = len(item) == 1 or (len(item) == 3 and item[1].is_symbol("."))
        if plain and item[-1].kind in ("word", "quoted"):
            keys.append(Key(tuple(item), _flink_name(item[-1], names), False))
        else:
            keys.append(Key(tuple(item), f"STAGGER_KEY_{number}", True))
    return tuple(keys)


def translate_stagger(
    clauses: dict[str, list[Token]],
    names: dict[str, str],
    render: Render,
    error: Error,
    carry_rowtime: bool,
) -> tuple[str, str]:
    """The Flink SQL of a query whose aggregation is a stagger window (see the module's
    docstring): the view of the window's rows, which must run first, and the query over it.
    ``carry_rowtime`` adds each window's close as ROWTIME, a time attribute."""
    if "GROUP" in clauses:
        raise error(clauses["GROUP"][0], "WINDOWED BY takes the place of GROUP BY: not both")
    stagger = parse_stagger(clauses["WINDOWED"], names, error)
    source = clauses.get("FROM", [])
    if len(source) < 2:
        raise error(stagger.at, "a stagger window reads one stream: FROM is missing")
    alias = _alias(source[1:], render, error)  # source[1:] is not empty
    columns = [f"`{k.column}`" for k in stagger.keys]
    computed = [f"{render(k.tokens)} AS `{k.column}`" for k in stagger.keys if k.computed]
    keyed = f"SELECT {', '.join(['*', *computed])}\n{render(source)}"
    if "WHERE" in clauses:
        keyed += "\n" + render(clauses["WHERE"])
    partition = columns[0]
    if len(columns) > 1:  # one column: Flink 2.2 cannot expand a view with PARTITION BY (a, b)
        partition = f"`{KEY}`"
        keyed = f"SELECT *, ROW({', '.join(columns)}) AS {partition}\nFROM (\n{keyed}\n)"
    view = f"STAGGER_{stagger.at.line}_{stagger.at.column}"
    rows = (
        f"CREATE TEMPORARY VIEW `{view}` AS\n"
        f"SELECT * FROM TABLE(KDA_STAGGER(input => (\n{keyed}\n) PARTITION BY {partition}, "
        f"on_time => DESCRIPTOR(`ROWTIME`), window_length => {stagger.interval}, "
        f"uid => '{view.lower()}'))"
    )
    select = clauses["SELECT"]
    body = select[2:] if len(select) > 1 and select[1].is_word("STREAM") else select[1:]
    listed = render(_windowed(body, stagger.keys))
    if carry_rowtime:
        listed += f", TUMBLE_ROWTIME({_WINDOW}) AS `ROWTIME`"
    out = [
        f"SELECT {listed}",
        f"FROM `{view}` AS {alias}",
        "GROUP BY " + ", ".join([*columns, f"TUMBLE({_WINDOW})"]),
    ]
    if "HAVING" in clauses:
        out.append(render(_windowed(clauses["HAVING"], stagger.keys)))
    return rows, "\n".join(out)


def _windowed(tokens: Sequence[Token], keys: tuple[Key, ...]) -> list[Token]:
    """``tokens`` over the window's rows: each computed key's expression is its column, and
    ROWTIME (``s.ROWTIME`` too) the window's close."""
    out: list[Token] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        key = next((k for k in keys if k.computed and _starts(tokens, i, k.tokens)), None)
        if key is not None:
            out.append(Token("quoted", key.column, token.line, token.column))
            i += len(key.tokens)
            continue
        if token.is_word("ROWTIME"):
            if out and out[-1].is_symbol("."):  # s.ROWTIME: the window's, whatever s is
                del out[-2:]
            out.append(Token("word", CLOSE, token.line, token.column))
        else:
            out.append(token)
        i += 1
    return out


def _starts(tokens: Sequence[Token], at: int, expression: tuple[Token, ...]) -> bool:
    """Whether ``expression`` is written at ``at`` (words in any case)."""
    found = tokens[at : at + len(expression)]
    return len(found) == len(expression) and all(
        _same(a, b) for a, b in zip(found, expression, strict=True)
    )


def _same(a: Token, b: Token) -> bool:
    if a.kind == "word" and b.kind == "word":
        return a.text.upper() == b.text.upper()
    return (a.kind, a.text) == (b.kind, b.text)


def _alias(rest: list[Token], render: Render, error: Error) -> str:
    """The name the query calls its stream by (``FROM s [AS] alias``), as the rest of the
    query spells it, which the window's rows go by so that ``alias.column`` still resolves."""
    if rest[0].kind not in ("word", "quoted"):
        raise error(rest[0], "a stagger window reads one stream")
    tail = rest[1:]
    if tail and tail[0].is_word("AS"):
        tail = tail[1:]
    if len(tail) > 1 or (tail and tail[0].kind not in ("word", "quoted")):
        raise error(tail[-1] if len(tail) > 1 else tail[0], "a stagger window reads one stream "
                                                            "(no JOIN yet)")  # fmt: skip
    return render(tail[:1] or rest[:1])


def _flink_name(token: Token, names: dict[str, str]) -> str:
    """A name as Flink spells it: quoted as written, unquoted as the known name it matches."""
    if token.kind == "quoted":
        return token.text
    return names.get(token.text.upper(), identifier(token))
