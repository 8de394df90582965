"""Shared steps of the AI tests: an in-process reference miner against a real node."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from aitbc.miner import Executor, Miner, MinerConfig


@asynccontextmanager
async def running_miner(
    url: str, api_key: str, plugins: Mapping[str, Executor], **config: Any
) -> AsyncIterator[Miner]:
    """A registered miner running ``plugins``, stopped gracefully on exit."""
    settings: dict[str, Any] = {"poll_wait": 1.0, "backoff_base": 0.05, "backoff_cap": 0.5}
    miner = Miner(
        MinerConfig(
            coordinator=url, api_key=api_key, executors=list(plugins), **{**settings, **config}
        ),
        executors=plugins,
    )
    async with miner.running(register_timeout=20):
        yield miner
