"""Wallet operations on top of the ledger: transfers (idempotent) and the dev faucet."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ..clock import MINT_FLOOR
from ..models import AccountRow, TransferRow
from ..problems import conflict, forbidden, invalid, not_found
from ..schemas import Faucet, TransferCreate
from . import ledger
from .idempotency import run_idempotent
from .principals import Principal
from .wire import transfer_wire

if TYPE_CHECKING:
    from ..runtime import Node, Tx


async def _load_transfer(node: Node, transfer_id: str) -> dict[str, Any]:
    async with node.reads() as session:
        row = await session.get(TransferRow, transfer_id)
    if row is None:
        raise not_found("not_found", "transfer", transfer_id)
    return transfer_wire(row)


async def transfer(
    node: Node, principal: Principal, req: TransferCreate, idempotency_key: str | None
) -> tuple[dict[str, Any], bool]:
    """Move funds from the caller's account to another principal's; (Transfer, replayed).

    Raises 402 insufficient_funds, 404 principal_not_found, 422 for self/system targets.
    """
    if req.to in ledger.SYSTEM_ACCOUNTS:
        raise forbidden("system accounts cannot receive transfers")
    if req.to == principal.id:
        raise invalid("cannot transfer to yourself", ["body", "to"])
    if req.amount <= 0:
        raise invalid("amount must be positive", ["body", "amount"])

    async def create(tx: Tx) -> dict[str, Any]:
        return await ledger.move(tx, principal.id, req.to, req.amount, "transfer", memo=req.memo)

    body = req.model_dump(mode="json")
    return await run_idempotent(
        node, principal.id, "transfer", idempotency_key, body, create, _load_transfer
    )


async def faucet(node: Node, req: Faucet) -> dict[str, Any]:
    """Mint ``amount`` into a principal's account (admin, dev networks)."""
    if req.amount <= 0:
        raise invalid("amount must be positive", ["body", "amount"])
    async with node.transaction() as tx:
        exists = await tx.session.scalar(
            select(AccountRow.id).where(AccountRow.id == req.account_id)
        )
        if exists is None or req.account_id in ledger.SYSTEM_ACCOUNTS:
            raise not_found("principal_not_found", "account", req.account_id)
        minted = await tx.session.scalar(
            select(AccountRow.balance).where(AccountRow.id == ledger.MINT)
        )
        room = (minted or 0) - MINT_FLOOR
        if req.amount > room:
            raise conflict("supply_exhausted", f"the faucet can mint at most {room} more")
        return await ledger.move(tx, ledger.MINT, req.account_id, req.amount, "mint")
