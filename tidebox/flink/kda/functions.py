"""KDA SQL's scalar functions in Flink SQL, one call at a time.

:func:`translate_call` rewrites a call of a KDA function whose Flink spelling or meaning
differs; every function not named here (``UPPER``, ``LOWER``, ``TRIM``, ``POSITION``,
``CHAR_LENGTH``, ``COALESCE``, ``NULLIF``, ``ABS``, ``CEIL``, ``FLOOR``, ``EXP``,
``LN``, ``LOG10``, ``MOD``, ``POWER``, ``||``, ``LIKE``, ``SIMILAR TO``...) means the same in
Flink and is left as written. The rewrites (KDA's SQL reference, checked on Flink 2.2):

- ``TIMESTAMP_TO_CHAR(format, ts)`` is ``DATE_FORMAT(ts, format)``, and ``'null'`` for a null
  ``ts`` (KDA returns the string "null"); ``DATE_TO_CHAR`` likewise;
  ``CHAR_TO_TIMESTAMP(format, s)`` is ``TO_TIMESTAMP(s, format)`` (null when ``s`` does not fit,
  as KDA returns no result); ``CHAR_TO_DATE``/``CHAR_TO_TIME`` cast its result. KDA's patterns
  are Java's ``SimpleDateFormat``; Flink's are ``DateTimeFormatter``, which agrees on the
  letters allowed here (a format must be a literal, so that it is checked): ``z``, ``Z``, ``X``
  (no zone on a KDA timestamp), ``u`` (a weekday in one, a year in the other), ``F`` and ``S``
  other than ``SSS`` are refused, and a parsed format (Flink's parse is strict, and reads ``hh``
  wrongly) takes only ``y M d H m s`` and ``SSS``;
- ``UNIX_TIMESTAMP(ts)``: milliseconds since 1970-01-01 00:00:00 UTC, a BIGINT;
  ``TO_TIMESTAMP(ms)``: the inverse (Flink's own TO_TIMESTAMP parses strings);
- ``TSDIFF(startTime, endTime)``: ``endTime - startTime`` in milliseconds, both BIGINT
  milliseconds since the epoch, as the reference types them. The reference does not say the
  sign; end less start is what the parameter names ask for (tidebox's reading);
- ``CURRENT_ROW_TIMESTAMP`` (a new time for each row, in UTC): Flink's, as a TIMESTAMP;
- ``EXTRACT(SECOND FROM t)``: DECIMAL(5,3) with the milliseconds, as KDA returns it (Flink's
  is a whole number); other fields are BIGINT in both;
- ``SUBSTRING(s, start[, length])`` and ``SUBSTRING(s FROM start [FOR length])``: the SQL
  standard's, which KDA follows: positions before the first character count (``SUBSTRING('abc',
  0, 2)`` is ``'a'``), where Flink's reads a start of 0 as 1 and a negative one from the end.
  A negative length (KDA's error stream) gives NULL. ``OVERLAY`` likewise follows the
  standard (Flink's drops the new text when it starts past the end: ``OVERLAY('X' PLACING 'x'
  FROM 2 FOR 1)`` is ``'Xx'``);
- ``REGEX_REPLACE(s, regex, replacement, start, occurrence)``: Java's ``replaceAll`` from
  ``start`` on, every match (occurrence 0) or the n-th: tidebox's ``KDA_REGEX_REPLACE`` (a Java
  function in tidebox's jar). The common call, start 1, occurrence 0 and a literal replacement
  with no group (``$1``) nor escape, is Flink's ``REGEXP_REPLACE``, which inserts its
  replacement as written;
- ``INITCAP``: tidebox's ``KDA_INITCAP``, which starts words after spaces only (Flink's starts
  one after any character that is not a letter or digit: ``'o''neil-smith'``);
- ``CAST(x AS type)``: KDA's type as Flink's (:mod:`tidebox.flink.kda.types`);
- ``MONOTONIC(x)`` only tells KDA that ``x`` does not decrease: ``x``.

Refused, naming the call: the log parsers (``REGEX_LOG_PARSE``, ``FAST_REGEX_LOG_PARSER``,
``FIXED_COLUMN_LOG_PARSE``, ``VARIABLE_COLUMN_LOG_PARSE``, ``SYS_LOG_PARSE``,
``W3C_LOG_PARSE``) return rows of columns that a Flink scalar cannot; ``TIME_TO_CHAR`` (Flink
formats no TIME).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tidebox.core.errors import KdaSqlError
from tidebox.flink.kda.tokens import Token, split_top
from tidebox.flink.kda.types import UnknownType, flink_type

Error = Callable[[Token, str], KdaSqlError]
Render = Callable[[Sequence[Token]], str]

_LOG_PARSERS = ("REGEX_LOG_PARSE", "FAST_REGEX_LOG_PARSER", "FIXED_COLUMN_LOG_PARSE",
                "VARIABLE_COLUMN_LOG_PARSE", "SYS_LOG_PARSE", "W3C_LOG_PARSE")  # fmt: skip
_ROWS = "returns a row of parsed columns, which no Flink scalar function does"
REFUSED = {
    **dict.fromkeys(_LOG_PARSERS, _ROWS),
    "TIME_TO_CHAR": "formats a TIME, which Flink's DATE_FORMAT does not take",
}
# agree in SimpleDateFormat and DateTimeFormatter (F: day-of-week-in-month in one, aligned
# day of the week in the other)
_FORMAT_LETTERS = set("GyYMLwWDdEaHkKhms")
_PARSE_LETTERS = set("yMdHms")
CURRENT_ROW = "CAST(CURRENT_ROW_TIMESTAMP() AS TIMESTAMP(3))"


def is_call(name: Token) -> bool:
    """Whether ``name(...)`` is a call this module translates (or refuses)."""
    return name.kind == "word" and (name.upper in _CALLS or name.upper in REFUSED)


def translate_call(call: Sequence[Token], render: Render, error: Error) -> str:
    """The Flink SQL of ``call`` (its name, ``(``, arguments, ``)``), whose arguments are
    rendered by ``render`` (which applies every rule, this one included)."""
    name = call[0]
    if name.upper in REFUSED:
        raise error(name, f"{name.upper} {REFUSED[name.upper]}: not translated")
    return _CALLS[name.upper](_Call(name, list(call[2:-1]), render, error))


class _Call:
    """One call's name and argument tokens, with what the rules need of them."""

    def __init__(self, name: Token, inner: list[Token], render: Render, error: Error) -> None:
        self.name, self.inner, self.render, self.error = name, inner, render, error

    def args(self, *counts: int) -> list[list[Token]]:
        """The comma-separated arguments, which must number one of ``counts``."""
        args = split_top(self.inner, lambda t: t.is_symbol(","))
        if len(args) not in counts or any(not a for a in args):
            wanted = " or ".join(str(c) for c in counts)
            raise self.fail(f"takes {wanted} argument{'s' if counts != (1,) else ''}")
        return args

    def sql(self, tokens: Sequence[Token]) -> str:
        return self.render(tokens)

    def fail(self, problem: str) -> KdaSqlError:
        return self.error(self.name, f"{self.name.upper} {problem}")

    def literal(self, tokens: list[Token], what: str) -> str:
        if len(tokens) != 1 or tokens[0].kind != "string":
            raise self.fail(f"takes its {what} as a string literal, so that tidebox can check it")
        return tokens[0].text


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def pattern_letters(pattern: str) -> list[tuple[str, int]]:
    """The pattern letters of a SimpleDateFormat pattern and how many times each repeats
    (text in single quotes is literal; ``''`` is a quote)."""
    letters: list[tuple[str, int]] = []
    quoted = False
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "'":
            quoted = not quoted
        elif not quoted and char.isascii() and char.isalpha():
            run = len(pattern[index:]) - len(pattern[index:].lstrip(char))
            letters.append((char, run))
            index += run
            continue
        index += 1
    return letters


def _checked_format(call: _Call, tokens: list[Token], parse: bool) -> str:
    pattern = call.literal(tokens, "format")
    allowed = _PARSE_LETTERS if parse else _FORMAT_LETTERS
    for letter, run in pattern_letters(pattern):
        if letter == "S" and run == 3:
            continue
        if letter not in allowed:
            use = "parse" if parse else "format"
            raise call.fail(
                f"format {pattern!r}: '{letter * run}' does not {use} the same in Flink "
                f"(letters translated: {' '.join(sorted(allowed))} and SSS)"
            )
    return _quote(pattern)


def _timestamp_to_char(call: _Call) -> str:
    form, value = call.args(2)
    return f"COALESCE(DATE_FORMAT({call.sql(value)}, {_checked_format(call, form, False)}), 'null')"


def _date_to_char(call: _Call) -> str:
    form, value = call.args(2)
    pattern = _checked_format(call, form, False)
    return f"COALESCE(DATE_FORMAT(CAST({call.sql(value)} AS TIMESTAMP(3)), {pattern}), 'null')"


def _char_to(target: str | None) -> Callable[[_Call], str]:
    def parse(call: _Call) -> str:
        form, value = call.args(2)
        parsed = f"TO_TIMESTAMP({call.sql(value)}, {_checked_format(call, form, True)})"
        return f"CAST({parsed} AS {target})" if target else parsed

    return parse


def _epoch_ms(value: str) -> str:
    stamp = f"CAST({value} AS TIMESTAMP(3))"
    return f"(EXTRACT(EPOCH FROM {stamp}) * 1000 + EXTRACT(MILLISECOND FROM {stamp}))"


def _unix_timestamp(call: _Call) -> str:
    (value,) = call.args(1)
    return _epoch_ms(call.sql(value))


def _to_timestamp(call: _Call) -> str:
    (value,) = call.args(1)
    return f"CAST(TO_TIMESTAMP_LTZ(CAST({call.sql(value)} AS BIGINT), 3) AS TIMESTAMP(3))"


def _tsdiff(call: _Call) -> str:
    start, end = call.args(2)
    return f"(CAST({call.sql(end)} AS BIGINT) - CAST({call.sql(start)} AS BIGINT))"


def _current_row_timestamp(call: _Call) -> str:
    if call.inner:
        raise call.fail("takes no argument")
    return CURRENT_ROW


def _extract(call: _Call) -> str:
    parts = split_top(call.inner, lambda t: t.is_word("FROM"))
    if len(parts) != 2 or len(parts[0]) != 1 or not parts[1]:
        raise call.fail("takes (field FROM value)")
    field, value = parts[0][0].upper, call.sql(parts[1])
    if field == "SECOND":  # KDA: DECIMAL(5,3), milliseconds included
        second = f"EXTRACT(SECOND FROM {value}) + EXTRACT(MILLISECOND FROM {value}) / 1000.0"
        return f"CAST({second} AS DECIMAL(5, 3))"
    return f"EXTRACT({field} FROM {value})"


def _substring(call: _Call) -> str:
    if any(t.is_word("FROM") for t in call.inner):
        source, rest = split_top(call.inner, lambda t: t.is_word("FROM"))
        args = [source, *split_top(rest, lambda t: t.is_word("FOR"))]
        if len(args) not in (2, 3) or any(not a for a in args):
            raise call.fail("takes (string FROM start [FOR length])")
    else:
        args = call.args(2, 3)
    text, start = call.sql(args[0]), call.sql(args[1])
    literal_start = len(args[1]) == 1 and args[1][0].kind == "number"
    if literal_start and float(args[1][0].text) >= 1:  # Flink's and the standard's agree
        return f"SUBSTRING({', '.join([text, start, *(call.sql(a) for a in args[2:])])})"
    first = f"GREATEST({start}, 1)"
    if len(args) == 2:
        return f"SUBSTRING({text}, {first})"
    length = call.sql(args[2])
    return f"SUBSTRING({text}, {first}, GREATEST({start} + {length}, 1) - {first})"


def _overlay(call: _Call) -> str:
    """``OVERLAY(s PLACING p FROM a [FOR b])`` as the standard defines it: ``SUBSTRING(s FROM 1
    FOR a - 1) || p || SUBSTRING(s FROM a + b)``, ``b`` being ``p``'s length if not given
    (Flink's own leaves ``p`` out when ``a`` is past the end of ``s``)."""
    source, rest = [*split_top(call.inner, lambda t: t.is_word("PLACING")), [], []][:2]
    placing, rest = [*split_top(rest, lambda t: t.is_word("FROM")), [], []][:2]
    bounds = split_top(rest, lambda t: t.is_word("FOR"))
    if not source or not placing or len(bounds) not in (1, 2) or any(not b for b in bounds):
        raise call.fail("takes (string PLACING string FROM start [FOR length])")
    text, put, start = call.sql(source), call.sql(placing), call.sql(bounds[0])
    length = call.sql(bounds[1]) if len(bounds) == 2 else f"CHAR_LENGTH({put})"
    before = f"SUBSTRING({text}, 1, GREATEST({start} - 1, 0))"
    return f"({before} || {put} || SUBSTRING({text}, GREATEST({start} + {length}, 1)))"


def _plain_replacement(tokens: list[Token]) -> str | None:
    """A replacement Flink's REGEXP_REPLACE inserts as Java's would: a literal without ``$``
    or ``\\``; None for any other."""
    if len(tokens) == 1 and tokens[0].kind == "string" and not set("$\\") & set(tokens[0].text):
        return _quote(tokens[0].text)
    return None


def _regex_replace(call: _Call) -> str:
    text, regex, replacement, start, occurrence = call.args(5)
    plain = _plain_replacement(replacement)
    first_all = [t.text for t in start] == ["1"] and [t.text for t in occurrence] == ["0"]
    if plain is not None and first_all:
        return f"REGEXP_REPLACE({call.sql(text)}, {call.sql(regex)}, {plain})"
    values = [call.sql(text), call.sql(regex), call.sql(replacement)]
    counts = [f"CAST({call.sql(start)} AS INT)", f"CAST({call.sql(occurrence)} AS INT)"]
    return f"KDA_REGEX_REPLACE({', '.join(values + counts)})"


def _initcap(call: _Call) -> str:
    (value,) = call.args(1)
    return f"KDA_INITCAP({call.sql(value)})"


def _cast(call: _Call) -> str:
    parts = split_top(call.inner, lambda t: t.is_word("AS"))
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise call.fail("takes (value AS type)")
    value, written = parts
    if written[0].is_word("INTERVAL"):
        return f"CAST({call.sql(value)} AS {call.sql(written)})"
    try:
        target = flink_type("".join(t.text for t in written))
    except UnknownType as unknown:
        raise call.error(written[0], str(unknown)) from None
    return f"CAST({call.sql(value)} AS {target})"


def _monotonic(call: _Call) -> str:
    (value,) = call.args(1)
    return f"({call.sql(value)})"


_CALLS: dict[str, Callable[[_Call], str]] = {
    "TIMESTAMP_TO_CHAR": _timestamp_to_char,
    "DATE_TO_CHAR": _date_to_char,
    "CHAR_TO_TIMESTAMP": _char_to(None),
    "CHAR_TO_DATE": _char_to("DATE"),
    "CHAR_TO_TIME": _char_to("TIME(3)"),
    "UNIX_TIMESTAMP": _unix_timestamp,
    "TO_TIMESTAMP": _to_timestamp,
    "TSDIFF": _tsdiff,
    "CURRENT_ROW_TIMESTAMP": _current_row_timestamp,
    "EXTRACT": _extract,
    "SUBSTRING": _substring,
    "OVERLAY": _overlay,
    "REGEX_REPLACE": _regex_replace,
    "INITCAP": _initcap,
    "CAST": _cast,
    "MONOTONIC": _monotonic,
}
