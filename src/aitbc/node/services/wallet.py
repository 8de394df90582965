"""Wallet operations on top of the ledger: transfers (idempotent) and the dev faucet."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, select

from ..clock import MINT_FLOOR
from ..problems import conflict, forbidden, invalid, not_found
from ..schemas import Faucet, TransferCreate
from ..tables import ACCOUNTS, TRANSFERS
from . import audit, ledger
from .idempotency import run_idempotent
from .principals import Principal
from .wire import transfer_wire

if TYPE_CHECKING:
    from ..runtime import Node, WriteTx

_ACCOUNT = select(ACCOUNTS.c.id).where(ACCOUNTS.c.id == bindparam("account"))
_ACCOUNT_BALANCE = select(ACCOUNTS.c.balance).where(ACCOUNTS.c.id == bindparam("account"))
_TRANSFER = select(TRANSFERS).where(TRANSFERS.c.id == bindparam("transfer_id"))


async def _load_transfer(node: Node, transfer_id: str) -> dict[str, Any]:
    def read(conn: Connection) -> Any:
        return conn.execute(_TRANSFER, {"transfer_id": transfer_id}).first()

    row = await node.read(read)
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

    def create(tx: WriteTx) -> dict[str, Any]:
        return ledger.move(tx, principal.id, req.to, req.amount, "transfer", memo=req.memo)

    body = req.model_dump(mode="json")
    return await run_idempotent(
        node, principal.id, "transfer", idempotency_key, body, create, _load_transfer
    )


async def faucet(node: Node, req: Faucet, actor_id: str | None = None) -> dict[str, Any]:
    """Mint ``amount`` into a principal's account (admin, dev networks); an ``actor_id``
    (the admin over the API) is written to the audit log with the mint."""
    if req.amount <= 0:
        raise invalid("amount must be positive", ["body", "amount"])
    if req.account_id in ledger.SYSTEM_ACCOUNTS:
        raise not_found("principal_not_found", "account", req.account_id)
    account, amount = req.account_id, req.amount
    return await node.write(lambda tx: _mint(tx, account, amount, actor_id))


def _mint(tx: WriteTx, account: str, amount: int, actor_id: str | None) -> dict[str, Any]:
    if tx.conn.execute(_ACCOUNT, {"account": account}).first() is None:
        raise not_found("principal_not_found", "account", account)
    # The mint account runs negative by what was minted; its floor keeps every balance
    # inside BIGINT, so a huge faucet is a clear 409 rather than an overflow.
    room = int(tx.conn.execute(_ACCOUNT_BALANCE, {"account": ledger.MINT}).scalar() or 0)
    room -= MINT_FLOOR
    if amount > room:
        raise conflict("supply_exhausted", f"the faucet can mint at most {room} more")
    minted = ledger.move(tx, ledger.MINT, account, amount, "mint")
    if actor_id is not None:
        audit.record(tx, actor_id, "faucet", account, amount=str(amount), transfer=minted["id"])
    return minted
