"""``ORDER BY`` on a stream: KDA sorts each batch of rows that share a time, in Flink SQL.

KDA's validator takes ``ORDER BY`` on a stream only when its first key is a time-based
monotonic expression of ROWTIME; with ``ORDER BY FLOOR(s.ROWTIME TO SECOND), score DESC`` (the
anomaly examples' OUTPUT_PUMP) each second's rows come out together, sorted by the other keys,
once the second is over. In Flink that is a window Top-N with no limit on the rank: a tumbling
window of the key's length on ROWTIME, ``ROW_NUMBER()`` over each window ordered by the other
keys. Flink's window rank emits a window's rows in rank order when the window closes (all of
them: the rank filter lets every row through), and the operators after it keep that order.

Forms taken as the first key: ``FLOOR([s.]ROWTIME TO unit)``, ``STEP([s.]ROWTIME BY INTERVAL
'n' unit)`` (ascending), and a bare ``[s.]ROWTIME`` with no other key (the stream's own order:
nothing to do). Any other first key is refused, as KDA refuses it; a sorted query reads one
stream and does not group.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tidebox.flink.kda.cursors import Parts
from tidebox.flink.kda.tokens import Token, comma_items

EVERY_RANK = 2147483647  # the rank filter a window Top-N needs, letting every row through
ORDER_RANK = "`$order`"
ORDER_FILTER = f"{ORDER_RANK} <= {EVERY_RANK}"

Seconds = Callable[[list[Token]], int | None]


@dataclass(frozen=True)
class Sorted:
    """How a sorted query reads its stream: the FROM text (the ranked window, with the query's
    own WHERE inside it), ORDER_FILTER being its WHERE. ``from_sql`` None: the order is the
    stream's own, the query stays as it is."""

    from_sql: str | None


def sorted_source(
    order: list[Token],
    source: list[Token],
    where: list[Token] | None,
    grouped: bool,
    seconds: Seconds,
    parts: Parts,
) -> Sorted:
    """The sorted form of ``FROM source [WHERE ...] ORDER BY ...`` (``order`` from ORDER on,
    ``source`` after FROM, ``where`` from WHERE on); ``seconds`` reads a FLOOR/STEP on ROWTIME
    as its length in seconds (None for any other expression)."""
    keys = comma_items(order[2:]) if len(order) > 1 and order[1].is_word("BY") else []
    if not keys:
        raise parts.error(order[0], "ORDER BY takes keys")
    first = keys[0]
    descending = first[-1].is_word("DESC")
    if first[-1].is_word("ASC", "DESC"):
        first = first[:-1]
    if _is_rowtime(first):
        if len(keys) == 1 and not descending:
            return Sorted(None)
        raise parts.error(
            order[0], "ORDER BY ROWTIME, ... is not translated: sort by FLOOR(ROWTIME TO unit)"
        )
    length = seconds(first) if first else None
    if length is None or descending:
        raise parts.error(
            order[0],
            "ORDER BY on a stream starts with an ascending time-based expression of ROWTIME "
            "(FLOOR(ROWTIME TO unit) or STEP(ROWTIME BY INTERVAL ...)), as KDA requires",
        )
    if len(keys) == 1:
        return Sorted(None)  # batches of one time, unsorted within: the stream's own order
    if grouped:
        raise parts.error(order[0], "ORDER BY on a grouped query is not translated yet")
    stream, alias = _one_stream(source, order[0], parts)
    ranking = ", ".join(parts.render(k) for k in keys[1:])
    condition = f"\nWHERE {parts.render(where[1:])}" if where else ""
    ranked = (
        f"(SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY {ranking})"
        f" AS {ORDER_RANK}\nFROM TABLE(TUMBLE(TABLE {stream}, DESCRIPTOR(`ROWTIME`),"
        f" {parts.interval(length)})) AS {alias}{condition}) AS {alias}"
    )
    return Sorted(ranked)


def _is_rowtime(tokens: list[Token]) -> bool:
    return (len(tokens) == 1 and tokens[0].is_word("ROWTIME")) or (
        len(tokens) == 3 and tokens[1].is_symbol(".") and tokens[2].is_word("ROWTIME")
    )


def _one_stream(source: list[Token], at: Token, parts: Parts) -> tuple[str, str]:
    if not source or source[0].kind not in ("word", "quoted"):
        raise parts.error(source[0] if source else at, "ORDER BY is translated on one stream")
    if source[0].is_word("TABLE"):
        raise parts.error(
            at, "ORDER BY over a table function is not translated: sort in a pump that reads it"
        )
    stream = parts.name(source[0])
    rest = source[1:]
    if rest and rest[0].is_word("AS"):
        rest = rest[1:]
    if len(rest) > 1:
        raise parts.error(rest[1], "ORDER BY is translated on a query of one stream (no JOIN)")
    return stream, parts.name(rest[0]) if rest else stream
