"""Reading receipts: visible to the job's client, its miner and admins."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..models import ReceiptRow
from ..problems import not_found
from .principals import Principal

if TYPE_CHECKING:
    from ..runtime import Node


async def get_receipt(node: Node, principal: Principal, receipt_id: str) -> dict[str, Any]:
    """The signed receipt; 404 receipt_not_found when absent or not visible."""
    async with node.reads() as session:
        row = await session.get(ReceiptRow, receipt_id)
    allowed = row is not None and (
        principal.role == "admin" or principal.id in (row.client_id, row.miner_id)
    )
    if row is None or not allowed:
        raise not_found("receipt_not_found", "receipt", receipt_id)
    return dict(row.body)
