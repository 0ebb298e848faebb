"""``tidebox query`` with no statement: an interactive shell over the catalog's tables.

Statements end with ``;`` and may span lines; history is kept across sessions under the state
folder. Each statement runs as ``tidebox query`` runs one (:func:`tidebox.cli.query.show_result`).
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any

from tidebox.cli.console import err
from tidebox.cli.results import print_description, print_tables, show_result
from tidebox.core.errors import TideboxError


def run_shell(settings: Any, fmt: str) -> None:
    """An interactive shell: statements end with ';', history is kept across sessions;
    ``\\d`` lists the tables, ``\\d NAME`` shows one, ``\\q`` quits."""
    history = settings.state_dir / "query_history"
    try:
        import readline

        history.parent.mkdir(parents=True, exist_ok=True)
        if history.exists():
            readline.read_history_file(str(history))
    except (ImportError, OSError):
        readline = None  # type: ignore[assignment]
    interactive = sys.stdin.isatty()
    if interactive:
        err.print("tidebox query shell: end statements with ';', \\d lists tables, \\q quits")
    buffer: list[str] = []
    try:
        while True:
            try:
                line = input("tidebox> " if not buffer else "      -> ") if interactive else input()
            except EOFError:
                break
            stripped = line.strip()
            if not buffer and stripped in ("\\q", "quit", "exit"):
                break
            if not buffer and stripped.startswith("\\d"):
                _shell_describe(settings, stripped[2:].strip())
                continue
            buffer.append(line)
            if stripped.endswith(";"):
                statement = "\n".join(buffer)
                buffer = []
                if readline is not None:
                    readline.add_history(statement.replace("\n", " "))
                try:
                    show_result(settings, statement, fmt, None)
                except TideboxError as exc:
                    err.print(f"[red]error:[/] {exc}", markup=True, highlight=False)
    finally:
        if readline is not None:
            with contextlib.suppress(OSError):
                readline.write_history_file(str(history))


def _shell_describe(settings: Any, name: str) -> None:
    try:
        if name:
            print_description(settings, name)
        else:
            print_tables(settings)
    except TideboxError as exc:
        err.print(f"error: {exc}", highlight=False)
