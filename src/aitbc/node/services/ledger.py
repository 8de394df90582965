"""Double-entry ledger in integer base units.

Every movement is one transfer row plus two balance updates in the same transaction.
The debit is guarded in SQL (``balance >= amount``), so concurrent debits can never take
an account below zero; only ``sys:mint`` may go negative, down to ``MINT_FLOOR``.
Balance rows are always updated in account-id order to keep lock order consistent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select, update

from ..clock import MINT_FLOOR, new_id
from ..models import AccountRow, JobRow, TransferRow
from ..problems import NodeProblem, not_found
from .pagination import fetch_page
from .wire import transfer_wire

if TYPE_CHECKING:
    from ..runtime import Node, Tx

ESCROW = "sys:escrow"
MINT = "sys:mint"
SYSTEM_ACCOUNTS = (ESCROW, MINT)
OPEN_STATES = ("QUEUED", "RUNNING")


async def _debit(tx: Tx, account: str, amount: int) -> None:
    floor = MINT_FLOOR if account == MINT else 0
    done = await tx.session.execute(
        update(AccountRow)
        .where(AccountRow.id == account, AccountRow.balance - amount >= floor)
        .values(balance=AccountRow.balance - amount)
        .returning(AccountRow.id)
    )
    if done.scalar_one_or_none() is None:
        exists = await tx.session.scalar(select(AccountRow.id).where(AccountRow.id == account))
        if exists is None:
            raise not_found("principal_not_found", "account", account)
        raise NodeProblem(402, "insufficient_funds", f"account {account} cannot cover {amount}")


async def _credit(tx: Tx, account: str, amount: int) -> None:
    done = await tx.session.execute(
        update(AccountRow)
        .where(AccountRow.id == account)
        .values(balance=AccountRow.balance + amount)
        .returning(AccountRow.id)
    )
    if done.scalar_one_or_none() is None:
        raise not_found("principal_not_found", "account", account)


async def move(
    tx: Tx,
    source: str,
    target: str,
    amount: int,
    kind: str,
    *,
    job_id: str | None = None,
    memo: str | None = None,
) -> dict[str, Any]:
    """Move ``amount`` from ``source`` to ``target``; return the Transfer.

    Raises 402 insufficient_funds when ``source`` cannot cover it and 404
    principal_not_found for an unknown account. Emits ledger events on both accounts.
    """
    steps = sorted([(source, _debit), (target, _credit)], key=lambda step: step[0])
    for account, step in steps:
        await step(tx, account, amount)
    row = TransferRow(
        id=new_id("txn"),
        from_account=source,
        to_account=target,
        amount=amount,
        kind=kind,
        job_id=job_id,
        memo=memo,
        created_at=tx.now,
    )
    tx.session.add(row)
    await tx.session.flush()
    transfer = transfer_wire(row)
    tx.emit(f"account:{source}", "ledger.debit", transfer)
    tx.emit(f"account:{target}", "ledger.credit", transfer)
    return transfer


async def balance(node: Node, account_id: str) -> dict[str, Any]:
    """``{"account_id", "balance", "escrowed"}``; escrowed = price of the client's open jobs."""
    async with node.reads() as session:
        value = await session.scalar(select(AccountRow.balance).where(AccountRow.id == account_id))
        if value is None:
            raise not_found("principal_not_found", "account", account_id)
        escrowed = await session.scalar(
            select(func.coalesce(func.sum(JobRow.price), 0)).where(
                JobRow.client_id == account_id, JobRow.state.in_(OPEN_STATES)
            )
        )
    return {"account_id": account_id, "balance": str(value), "escrowed": str(escrowed or 0)}


async def history(node: Node, account_id: str, limit: int, cursor: str | None) -> dict[str, Any]:
    """Page of transfers touching ``account_id``, newest first."""
    stmt = select(TransferRow).where(
        or_(TransferRow.from_account == account_id, TransferRow.to_account == account_id)
    )
    return await fetch_page(node, stmt, TransferRow, limit, cursor, transfer_wire)


async def total_supply_check(node: Node) -> tuple[int, int]:
    """(sum of all balances, minimum non-mint balance): the ledger invariants, for tests
    and operators. The sum must be 0 and the minimum must not be negative."""
    async with node.reads() as session:
        total = await session.scalar(select(func.coalesce(func.sum(AccountRow.balance), 0)))
        lowest = await session.scalar(
            select(func.coalesce(func.min(AccountRow.balance), 0)).where(AccountRow.id != MINT)
        )
    return int(total or 0), int(lowest or 0)
