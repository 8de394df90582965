"""The admin audit log: who did what to what, written in the action's own transaction.

Entries name keys by id and principals by id, never a raw key. Read newest first with
the same cursor paging as every other list (``GET /v1/admin/audit``).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Insert, insert, select

from ..clock import iso, new_id
from ..models import AuditRow
from ..tables import AUDIT_LOG
from .pagination import fetch_page

if TYPE_CHECKING:
    from ..runtime import Node, WriteTx


def audit_entry(
    now: datetime, actor_id: str, action: str, target: str, detail: dict[str, Any]
) -> Insert:
    """The INSERT of one entry (for a unit's Core connection or an ORM session)."""
    return insert(AUDIT_LOG).values(
        id=new_id("aud"),
        created_at=now,
        actor_id=actor_id,
        action=action,
        target=target,
        detail=detail,
    )


def record(tx: WriteTx, actor_id: str, action: str, target: str, **detail: Any) -> None:
    """Write one entry inside the unit ``tx`` (so it commits with the action or not at all)."""
    write_entry(tx.conn, tx.now, actor_id, action, target, detail)


def write_entry(
    conn: Connection, now: datetime, actor_id: str, action: str, target: str, detail: Any
) -> None:
    conn.execute(audit_entry(now, actor_id, action, target, dict(detail)))


def entry_wire(row: Any) -> dict[str, Any]:
    """The wire ``AuditEntry``."""
    return {
        "id": row.id,
        "created_at": iso(row.created_at),
        "actor_id": row.actor_id,
        "action": row.action,
        "target": row.target,
        "detail": row.detail,
    }


async def audit_page(node: Node, limit: int, cursor: str | None) -> dict[str, Any]:
    """One page of the log, newest first."""
    return await fetch_page(node, select(AUDIT_LOG), AuditRow, limit, cursor, entry_wire)
