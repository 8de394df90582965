"""A real node and a real miner, for the seed's "Cross-Chain Settlement" example."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aitbc.miner import Miner, MinerConfig


@asynccontextmanager
async def running_miner(url: str, api_key: str) -> AsyncIterator[Miner]:
    """A registered in-process miner (echo jobs), stopped gracefully on exit."""
    config = MinerConfig(
        coordinator=url, api_key=api_key, executors=["echo"], poll_wait=1.0, backoff_base=0.05
    )
    miner = Miner(config)
    task = asyncio.create_task(miner.run())
    try:
        ready = asyncio.ensure_future(miner.ready.wait())
        await asyncio.wait([ready, task], timeout=20, return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        if task.done():
            await task  # raises what stopped it
        assert miner.ready.is_set(), "miner did not register"
        yield miner
    finally:
        miner.stop()
        await asyncio.wait_for(task, 30)


async def client_and_miner_keys(node: Any, funds: int = 10_000) -> tuple[str, str]:
    """Create a funded client and a miner on ``node``; returns (client_key, miner_key)."""
    client_id, client_key = await node.create_principal("client", "alice")
    _, miner_key = await node.create_principal("miner", "bob")
    await node.faucet(client_id, funds)
    return client_key, miner_key
