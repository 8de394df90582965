"""SettlementStore on real SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from aitbc.errors import SettlementError
from aitbc.settlement.bridges.base import (
    BridgeStatus,
    CostEstimate,
    PreparedSettlement,
    SettlementResult,
)
from aitbc.settlement.store import (
    SEND_PREPARED,
    SettlementRecord,
    SettlementStore,
    database_url,
    schema_table,
    with_result,
)

from .memory_bridge import MemoryChains
from .waiting import stored_status

WEI = 10**30  # beyond BIGINT: stored as a decimal string


def _record(message: Any, message_id: str = "0xabc") -> SettlementRecord:
    prepared = PreparedSettlement(
        message_id, message, CostEstimate("memory", WEI, 7, 250_000), {"nonce": 3, "guid": "0x1"}
    )
    result = SettlementResult(message_id, BridgeStatus.PENDING, "memory")
    return SettlementRecord(prepared, result, SEND_PREPARED, 0)


async def _round_trip(storage: str | Path, make_message: Any) -> None:
    store = await SettlementStore.open(storage)
    try:
        record = _record(make_message())
        assert await store.insert(record) is record
        loaded = await store.get(record.message_id)
        assert loaded is not None and loaded.prepared == record.prepared
        done = with_result(
            loaded,
            SettlementResult("0xabc", BridgeStatus.COMPLETED, "x", "0xtx", None, 21_000, WEI),
        )
        await store.update(done)
        again = await store.get_by_receipt(record.prepared.message.receipt_hash)
        assert again is not None and again.result.status is BridgeStatus.COMPLETED
        assert again.result.fee_paid == WEI and again.result.gas_used == 21_000
        assert again.result.completed_at is not None and again.result.completed_at.tzinfo
        assert again.result.bridge_name == "memory"  # the adapter cannot rename a record
        assert await store.list_unfinished() == []
        # a second record for the same receipt returns the first, whatever its id
        duplicate = _record(record.prepared.message, "0xother")
        assert (await store.insert(duplicate)).message_id == "0xabc"
    finally:
        await store.close()


async def test_sqlite_round_trip(tmp_path: Path, make_message: Any) -> None:
    await _round_trip(tmp_path / "deep" / "dir" / "s.db", make_message)


@pytest.mark.postgres
async def test_postgres_round_trip(postgres_url: str, make_message: Any) -> None:
    await _round_trip(postgres_url, make_message)


@pytest.mark.postgres
async def test_manager_on_postgres_survives_restart(
    postgres_url: str, open_manager: Any, make_message: Any, chains: MemoryChains
) -> None:
    first = await open_manager(postgres_url)
    chains.drop = True
    sent = await first.settle_cross_chain(make_message(), "memory")
    await first.close()
    chains.drop = False
    second = await open_manager(postgres_url)
    await stored_status(second, sent.message_id, BridgeStatus.COMPLETED)


async def test_unknown_schema_version_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = await SettlementStore.open(path)
    async with store._engine.begin() as conn:
        await conn.execute(sa.update(schema_table).values(version=99))
    await store.close()
    with pytest.raises(SettlementError, match="schema v99"):
        await SettlementStore.open(path)


@pytest.mark.parametrize("as_url", [False, True])
async def test_unusable_sqlite_path_is_a_configuration_error(tmp_path: Path, as_url: bool) -> None:
    from aitbc.errors import ConfigurationError

    blocker = tmp_path / "file"
    blocker.write_text("")
    path = f"{blocker}/sub/s.db"
    with pytest.raises(ConfigurationError, match="cannot create the directory"):
        await SettlementStore.open(f"sqlite:///{path}" if as_url else path)


def test_database_urls(tmp_path: Path) -> None:
    assert database_url(tmp_path / "a.db") == f"sqlite+aiosqlite:///{tmp_path}/a.db"
    url = f"sqlite:///{tmp_path}/b.db"
    assert database_url(url) == f"sqlite+aiosqlite:///{tmp_path}/b.db"
    assert database_url("sqlite+aiosqlite:///:memory:") == "sqlite+aiosqlite:///:memory:"
    assert database_url("postgresql://u@h/db") == "postgresql+asyncpg://u@h/db"
    assert database_url("postgresql+asyncpg://u@h/db") == "postgresql+asyncpg://u@h/db"


async def test_unknown_database_scheme_is_a_configuration_error() -> None:
    from aitbc.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="cannot use settlement storage"):
        await SettlementStore.open("nosuchdb://somewhere/x")


@pytest.mark.postgres
async def test_unreachable_postgres_is_a_settlement_error() -> None:
    with pytest.raises(SettlementError, match="cannot open settlement store"):
        await SettlementStore.open("postgresql://postgres@127.0.0.1:1/nothing")
