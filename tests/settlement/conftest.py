"""Fixtures for settlement tests: a coordinator key, signed messages, a memory bridge."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from aitbc.core.signing import SigningKey
from aitbc.settlement.bridges.base import SettlementMessage
from aitbc.settlement.manager import BridgeManager
from aitbc.settlement.proof import message_from_receipt

from .memory_bridge import MemoryBridge, MemoryChains
from .receipts import RECIPIENT, make_receipt

MakeMessage = Callable[..., SettlementMessage]


@pytest.fixture
def coordinator_key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def make_message(coordinator_key: SigningKey) -> MakeMessage:
    """Build a valid message for a freshly signed receipt; kwargs go to make_receipt."""

    def build(
        target: int = 2, recipient: str = RECIPIENT, **receipt_args: Any
    ) -> SettlementMessage:
        receipt = make_receipt(coordinator_key, **receipt_args)
        return message_from_receipt(receipt, target_chain_id=target, recipient=recipient)

    return build


@pytest.fixture
def chains() -> MemoryChains:
    return MemoryChains()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "settlements.db"


OpenManager = Callable[..., Any]


@pytest.fixture
async def open_manager(
    db_path: Path, chains: MemoryChains, coordinator_key: SigningKey
) -> AsyncIterator[OpenManager]:
    """Open managers on the test's SQLite file with a MemoryBridge; all closed at the end."""
    opened: list[BridgeManager] = []

    async def factory(storage: Any = None, **config: Any) -> BridgeManager:
        manager = BridgeManager(
            storage or db_path, trusted_keys=[coordinator_key.verify_key], poll_interval=0.01
        )
        manager.register_adapter("memory", MemoryBridge(chains))
        await manager.initialize({"memory": config})
        opened.append(manager)
        return manager

    yield factory
    for manager in opened:
        await manager.close()


@pytest.fixture(scope="session")
def devnet() -> Iterator[Any]:
    """One py-evm devnet (chains 1 and 42161, contracts, relayer) for the whole session,
    in its own thread (aitbc.devnet.BackgroundDevnet). Tests keep apart by using fresh
    receipts, recipients and stores."""
    pytest.importorskip("eth_tester", reason="the py-evm devnet needs the evm extra")
    from aitbc.devnet import BackgroundDevnet

    with BackgroundDevnet([1, 42161]) as running:
        yield running
