"""Double-entry ledger in integer base units.

Every movement is one transfer row plus two balance updates in the same transaction.
The debit is guarded in SQL (``balance >= amount``), so concurrent debits can never take
an account below zero; only ``sys:mint`` may go negative, down to ``MINT_FLOOR``.
Balance rows are always updated in account-id order to keep lock order consistent (two
statements, not one: a single ``UPDATE ... WHERE id IN (a, b)`` locks rows in whatever
order the plan visits them, and opposite transfers could then deadlock on PostgreSQL).
All three statements are built once at import and run on SQLite's cursor (:mod:`..raw_sql`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, func, insert, or_, select, update

from ..clock import MINT_FLOOR, new_id
from ..models import TransferRow
from ..problems import NodeProblem, not_found
from ..raw_sql import RawStatement
from ..tables import ACCOUNTS, JOBS, TRANSFERS
from .pagination import fetch_page
from .wire import transfer_wire

if TYPE_CHECKING:
    from ..runtime import Node, WriteTx

ESCROW = "sys:escrow"
MINT = "sys:mint"
SYSTEM_ACCOUNTS = (ESCROW, MINT)
OPEN_STATES = ("QUEUED", "RUNNING")

_DEBIT = RawStatement(
    update(ACCOUNTS)
    .where(
        ACCOUNTS.c.id == bindparam("account"),
        ACCOUNTS.c.balance - bindparam("amount") >= bindparam("floor"),
    )
    .values(balance=ACCOUNTS.c.balance - bindparam("amount"))
)
_CREDIT = RawStatement(
    update(ACCOUNTS)
    .where(ACCOUNTS.c.id == bindparam("account"))
    .values(balance=ACCOUNTS.c.balance + bindparam("amount"))
)
_ACCOUNT_EXISTS = select(ACCOUNTS.c.id).where(ACCOUNTS.c.id == bindparam("account"))
_INSERT_TRANSFER = RawStatement(
    insert(TRANSFERS).returning(*TRANSFERS.c), [c.key for c in TRANSFERS.c]
)


def _debit(conn: Connection, account: str, amount: int) -> None:
    floor = MINT_FLOOR if account == MINT else 0
    if _DEBIT.rowcount(conn, account=account, amount=amount, floor=floor) != 1:
        if conn.execute(_ACCOUNT_EXISTS, {"account": account}).first() is None:
            raise not_found("principal_not_found", "account", account)
        raise NodeProblem(402, "insufficient_funds", f"account {account} cannot cover {amount}")


def _credit(conn: Connection, account: str, amount: int) -> None:
    if _CREDIT.rowcount(conn, account=account, amount=amount) != 1:
        raise not_found("principal_not_found", "account", account)


def move(
    tx: WriteTx,
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
        step(tx.conn, account, amount)
    values = {
        "id": new_id("txn"),
        "from_account": source,
        "to_account": target,
        "amount": amount,
        "kind": kind,
        "job_id": job_id,
        "memo": memo,
        "created_at": tx.now,
    }
    transfer = transfer_wire(_INSERT_TRANSFER.one(tx.conn, **values))
    tx.emit(f"account:{source}", "ledger.debit", transfer)
    tx.emit(f"account:{target}", "ledger.credit", transfer)
    return transfer


_BALANCE = select(ACCOUNTS.c.balance).where(ACCOUNTS.c.id == bindparam("account"))
_ESCROWED = select(func.coalesce(func.sum(JOBS.c.price), 0)).where(
    JOBS.c.client_id == bindparam("account"), JOBS.c.state.in_(OPEN_STATES)
)


async def balance(node: Node, account_id: str) -> dict[str, Any]:
    """``{"account_id", "balance", "escrowed"}``; escrowed = price of the client's open jobs."""

    def read(conn: Connection) -> tuple[Any, Any]:
        value = conn.execute(_BALANCE, {"account": account_id}).scalar()
        if value is None:
            return None, None
        return value, conn.execute(_ESCROWED, {"account": account_id}).scalar()

    value, escrowed = await node.read(read)
    if value is None:
        raise not_found("principal_not_found", "account", account_id)
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

    def read(conn: Connection) -> tuple[int, int]:
        total = conn.execute(select(func.coalesce(func.sum(ACCOUNTS.c.balance), 0))).scalar()
        lowest = conn.execute(
            select(func.coalesce(func.min(ACCOUNTS.c.balance), 0)).where(ACCOUNTS.c.id != MINT)
        ).scalar()
        return int(total or 0), int(lowest or 0)

    return await node.read(read)
