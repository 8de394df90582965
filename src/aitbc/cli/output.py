"""Output of the client commands: rich tables for people, JSON for scripts.

``--json`` prints exactly one JSON document per command on stdout (``jobs watch`` prints
one JSON object per line, JSON Lines), with sorted keys, money as decimal strings and
timestamps in ISO 8601, the same shapes as the wire protocol (docs/protocol.md). Errors
go to stderr in both modes.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from .failures import Failure

Render = Callable[[Console], None]


def to_jsonable(value: Any) -> Any:
    """Models to their wire dicts, recursively; anything else unchanged."""
    if isinstance(value, BaseModel):
        to_wire = getattr(value, "to_wire", None)
        return to_wire() if callable(to_wire) else value.model_dump(mode="json")
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def dumps(value: Any) -> str:
    """One line of stable JSON (sorted keys) for ``value``."""
    return json.dumps(to_jsonable(value), sort_keys=True, ensure_ascii=False)


class Output:
    """Where a command writes: ``json_mode`` picks JSON over rich rendering."""

    def __init__(self, json_mode: bool, console: Console | None = None) -> None:
        self.json_mode = json_mode
        self.console = console or Console(highlight=False, width=_width())
        self.errors = Console(stderr=True, highlight=False, soft_wrap=True)

    def result(self, value: Any, render: Render) -> None:
        """Print ``value`` as JSON in ``--json`` mode, else call ``render``."""
        if self.json_mode:
            print(dumps(value), flush=True)
        else:
            render(self.console)

    def json_line(self, value: Any) -> None:
        """One JSON Lines record (streams in ``--json`` mode)."""
        print(dumps(value), flush=True)

    def note(self, text: str) -> None:
        """A progress note for people; silent in ``--json`` mode (stdout stays JSON)."""
        if not self.json_mode:
            self.errors.print(text, markup=False)

    def busy(self, text: str) -> AbstractContextManager[Any]:
        """A spinner on stderr while something slow runs (nothing in ``--json`` mode)."""
        if self.json_mode:
            return nullcontext()
        return self.errors.status(text, spinner="dots")

    def failure(self, failure: Failure) -> None:
        """Print the one-line error on stderr (JSON in ``--json`` mode)."""
        if self.json_mode:
            self.errors.out(failure.to_json(), highlight=False)
        else:
            self.errors.print(f"error: {failure.message}", markup=False)


def _width() -> int | None:
    # Piped output (a file, a log, a test) gets room for ids instead of rich's 80 columns.
    if sys.stdout.isatty() or os.environ.get("COLUMNS"):
        return None
    return 200


def money(value: Any) -> str:
    """Base units with thousands separators for reading (``1_500`` -> ``1,500``)."""
    return f"{int(value):,}" if isinstance(value, int) else str(value)


def when(value: datetime | None) -> str:
    """A timestamp to the second, or ``-``."""
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def fields_table(title: str, rows: Iterable[tuple[str, Any]]) -> Table:
    """A two-column table of name/value pairs."""
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for name, value in rows:
        table.add_row(name, "-" if value is None else str(value))
    return table


def list_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    """A table with a header row; ``None`` cells print as ``-``."""
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*("-" if cell is None else str(cell) for cell in row))
    return table


def short_json(value: Any, limit: int = 120) -> str:
    """Compact JSON of ``value``, cut to ``limit`` characters for a table cell."""
    text = json.dumps(to_jsonable(value), separators=(",", ":"), sort_keys=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"
