"""Reading receipts: visible to the job's client, its miner and admins."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select

from ..problems import not_found
from ..tables import RECEIPTS
from .principals import Principal

if TYPE_CHECKING:
    from ..runtime import Node

_RECEIPT = select(RECEIPTS).where(RECEIPTS.c.id == bindparam("receipt_id"))


async def get_receipt(node: Node, principal: Principal, receipt_id: str) -> dict[str, Any]:
    """The signed receipt; 404 receipt_not_found when absent or not visible."""
    row = await node.read(lambda conn: conn.execute(_RECEIPT, {"receipt_id": receipt_id}).first())
    allowed = row is not None and (
        principal.role == "admin" or principal.id in (row.client_id, row.miner_id)
    )
    if row is None or not allowed:
        raise not_found("receipt_not_found", "receipt", receipt_id)
    return dict(row.body)
