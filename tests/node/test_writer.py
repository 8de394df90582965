"""The SQLite writer: grouped commits, a failing unit rolled back alone, and the writer
thread taking over while another connection holds the write lock (real SQLite file)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Connection, select

from aitbc.node.events import fetch_events
from aitbc.node.problems import NodeProblem
from aitbc.node.runtime import WriteTx
from aitbc.node.services import ledger
from aitbc.node.tables import ACCOUNTS, TRANSFERS


def _debit(account: str, amount: int) -> Callable[[WriteTx], dict[str, Any]]:
    return lambda tx: ledger.move(tx, account, ledger.ESCROW, amount, "escrow")


def _debit_then_crash(account: str) -> Callable[[WriteTx], None]:
    def unit(tx: WriteTx) -> None:
        ledger.move(tx, account, ledger.ESCROW, 5, "escrow")
        raise RuntimeError("boom after a write")

    return unit


def _state(account: str) -> Callable[[Connection], tuple[int, int, list[int]]]:
    def read(conn: Connection) -> tuple[int, int, list[int]]:
        balance = conn.execute(select(ACCOUNTS.c.balance).where(ACCOUNTS.c.id == account))
        transfers = conn.execute(select(TRANSFERS.c.id).where(TRANSFERS.c.from_account == account))
        seqs = [e.seq for e in fetch_events(conn, f"account:{account}")]
        return int(balance.scalar_one()), len(transfers.all()), seqs

    return read


async def _until_deferred(runtime: Any, deferred: int) -> None:
    """Until a batch met the foreign lock and went to the writer thread; counted in loop
    iterations, not time."""
    for _ in range(10_000):
        if runtime.writer.deferred > deferred:
            return
        await asyncio.sleep(0)
    pytest.fail("the write never met the foreign lock")


async def test_units_of_one_loop_iteration_share_one_commit_and_fail_alone(node: Any) -> None:
    runtime = node.node
    client_id, _ = await node.create_principal("client", "alice")
    await node.faucet(client_id, 100)
    assert runtime.writer is not None
    commits = runtime.writer.commits
    results = await asyncio.gather(
        runtime.write(_debit(client_id, 10)),
        runtime.write(_debit(client_id, 1_000)),  # 402: cannot cover
        runtime.write(_debit_then_crash(client_id)),  # wrote, then raised
        runtime.write(_debit(client_id, 20)),
        return_exceptions=True,
    )
    assert runtime.writer.commits == commits + 1  # four units, one commit
    first, refused, crashed, last = results
    assert isinstance(first, dict) and first["amount"] == "10"
    assert isinstance(refused, NodeProblem) and refused.code == "insufficient_funds"
    assert isinstance(crashed, RuntimeError)
    assert isinstance(last, dict) and last["amount"] == "20"
    balance, transfers, seqs = await runtime.read(_state(client_id))
    assert (balance, transfers) == (70, 2)  # the crashed unit's debit was rolled back
    assert seqs == [1, 2, 3]  # mint, two debits: no seq taken by a rolled-back unit


async def _behind_foreign_lock(runtime: Any, tmp_path: Any, unit: Any) -> Any:
    """Run ``unit`` while another connection holds SQLite's write lock: its batch goes to
    the writer thread and waits there; the lock is then released. The unit's result."""
    blocker = sqlite3.connect(tmp_path / "node.sqlite3", isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")  # another process's writer, say
        deferred = runtime.writer.deferred
        task = asyncio.create_task(runtime.write(unit))
        await _until_deferred(runtime, deferred)
        assert not task.done()  # queued on the writer thread, waiting for the lock
        blocker.execute("COMMIT")
        return await task
    finally:
        blocker.close()


async def test_writer_thread_waits_out_a_foreign_lock(node: Any, tmp_path: Any) -> None:
    runtime = node.node
    client_id, _ = await node.create_principal("client", "bob")
    await node.faucet(client_id, 100)
    transfer = await _behind_foreign_lock(runtime, tmp_path, _debit(client_id, 30))
    assert transfer["amount"] == "30"
    balance, transfers, _ = await runtime.read(_state(client_id))
    assert (balance, transfers) == (70, 1)


async def test_a_lone_unit_that_raises_is_rolled_back_and_the_next_commits(node: Any) -> None:
    # A batch of one runs without a savepoint: its failure must roll back the whole
    # transaction (nothing of the unit kept, no event seq taken) and leave the connection
    # ready for the next unit.
    runtime = node.node
    client_id, _ = await node.create_principal("client", "carol")
    await node.faucet(client_id, 100)
    units = runtime.writer.units
    with pytest.raises(RuntimeError, match="boom after a write"):
        await runtime.write(_debit_then_crash(client_id))
    with pytest.raises(NodeProblem) as refused:
        await runtime.write(_debit(client_id, 1_000))
    assert refused.value.code == "insufficient_funds"
    assert (await runtime.write(_debit(client_id, 40)))["amount"] == "40"
    assert runtime.writer.units == units + 3  # each ran as its own batch
    balance, transfers, seqs = await runtime.read(_state(client_id))
    assert (balance, transfers, seqs) == (60, 1, [1, 2])


async def test_a_lone_unit_on_the_writer_thread_fails_alone(node: Any, tmp_path: Any) -> None:
    runtime = node.node
    client_id, _ = await node.create_principal("client", "dave")
    await node.faucet(client_id, 100)
    with pytest.raises(RuntimeError, match="boom after a write"):
        await _behind_foreign_lock(runtime, tmp_path, _debit_then_crash(client_id))
    assert (await runtime.write(_debit(client_id, 25)))["amount"] == "25"
    balance, transfers, seqs = await runtime.read(_state(client_id))
    assert (balance, transfers, seqs) == (75, 1, [1, 2])
