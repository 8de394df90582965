"""Parsing what users type: JSON arguments (inline, ``@file`` or ``@-`` for stdin) and
amounts of base units (and the page size a ``--limit`` asks for). Every problem is a
ConfigurationError with a one-line message, checked before anything is sent, so bad input
never reaches the node."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError


def read_json_arg(text: str, what: str) -> Any:
    """The JSON value of ``text``, or of the file it names with ``@path`` (``@-``: stdin).

    Raises ConfigurationError naming ``what`` (e.g. ``--payload``) when it does not parse.
    """
    source = text
    if text.startswith("@"):
        source = _read_source(text[1:], what)
    try:
        return json.loads(source)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"{what} is not valid JSON: {exc}") from exc


def read_json_object(text: str, what: str) -> dict[str, Any]:
    """Like :func:`read_json_arg` but the value must be a JSON object."""
    value = read_json_arg(text, what)
    if not isinstance(value, dict):
        raise ConfigurationError(f"{what} must be a JSON object, got {type(value).__name__}")
    return value


def _read_source(name: str, what: str) -> str:
    if name == "-":
        return sys.stdin.read()
    try:
        return Path(name).expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{what}: cannot read {name}: {exc}") from exc


def parse_amount(text: str | None, what: str, *, positive: bool = False) -> int | None:
    """Base units from ``text`` (digits, ``_`` or ``,`` separators allowed); None stays None.

    Raises ConfigurationError for a negative, fractional or non-numeric amount (and for
    zero when ``positive``).
    """
    if text is None:
        return None
    cleaned = text.strip().replace("_", "").replace(",", "")
    if not cleaned.isdigit():
        raise ConfigurationError(
            f"{what} must be a non-negative whole number of base units, got {text!r}"
        )
    amount = int(cleaned)
    if positive and amount == 0:
        raise ConfigurationError(f"{what} must be greater than zero")
    return amount


def page_size(limit: int) -> int:
    """The page size to fetch ``--limit`` items with (the node serves 1 to 200 a page)."""
    return max(1, min(limit, 200))
