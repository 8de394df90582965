"""Cursor pagination, newest first: the cursor is the (created_at, id) of the last item."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute

from ..clock import iso, parse_iso
from ..problems import invalid

if TYPE_CHECKING:
    from ..runtime import Node

S = TypeVar("S", bound=Select[Any])
R = TypeVar("R")


def encode_cursor(created_at: datetime, ident: str) -> str:
    raw = json.dumps([iso(created_at), ident]).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """Raises a 422 NodeProblem for a cursor this node did not hand out."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, ident = json.loads(raw)
        return parse_iso(str(stamp)), str(ident)
    except (ValueError, TypeError) as exc:
        raise invalid("malformed cursor", ["query", "cursor"]) from exc


def paginate(
    stmt: S,
    created: InstrumentedAttribute[datetime],
    ident: InstrumentedAttribute[str],
    limit: int,
    cursor: str | None,
) -> S:
    """Order ``stmt`` newest first, start after ``cursor``, fetch one extra row."""
    if cursor:
        stamp, last_id = decode_cursor(cursor)
        stmt = stmt.where(or_(created < stamp, and_(created == stamp, ident < last_id)))
    return stmt.order_by(created.desc(), ident.desc()).limit(limit + 1)


def make_page(
    rows: Sequence[R],
    limit: int,
    key: Callable[[R], tuple[datetime, str]],
    to_wire: Callable[[R], dict[str, Any]],
) -> dict[str, Any]:
    """``{"items", "next_cursor"}`` from rows fetched by :func:`paginate`."""
    items = list(rows[:limit])
    next_cursor = encode_cursor(*key(items[-1])) if len(rows) > limit and items else None
    return {"items": [to_wire(r) for r in items], "next_cursor": next_cursor}


async def fetch_page(
    node: Node,
    stmt: Select[Any],
    row_type: Any,
    limit: int,
    cursor: str | None,
    to_wire: Callable[[Any], dict[str, Any]],
) -> dict[str, Any]:
    """One page of ``stmt`` (rows of ``row_type``, keyed by its ``created_at`` and ``id``),
    newest first, after ``cursor``; raises a 422 NodeProblem for a foreign cursor."""
    stmt = paginate(stmt, row_type.created_at, row_type.id, limit, cursor)
    # Core rows (named tuples with the model's column names), read without a session.
    rows = await node.read(lambda conn: conn.execute(stmt).all())
    return make_page(rows, limit, lambda r: (r.created_at, r.id), to_wire)
