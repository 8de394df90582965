"""Wait (with a deadline) for a stored settlement to reach a status."""

from __future__ import annotations

import asyncio

from aitbc.settlement.bridges.base import BridgeStatus, SettlementResult
from aitbc.settlement.manager import BridgeManager


async def stored_status(
    manager: BridgeManager, message_id: str, *wanted: BridgeStatus, deadline: float = 10.0
) -> SettlementResult:
    """Read the store (not the chain) until the record has one of ``wanted``; the
    background tracker is what must move it there."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while True:
        record = await manager.store.get(message_id)
        assert record is not None
        if record.result.status in wanted:
            return record.result
        if loop.time() > end:
            raise AssertionError(f"{message_id} stuck at {record.result.status}, want {wanted}")
        await asyncio.sleep(0.01)
