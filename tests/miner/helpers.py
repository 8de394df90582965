"""Shared steps of the miner's tests against a real node."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from aitbc import AITBCClient, HTTPTransport
from aitbc.miner import Executor, Miner, MinerConfig


async def until(condition: Callable[[], bool], limit: float = 20.0) -> None:
    """Wait until ``condition()`` holds; fail the test after ``limit`` seconds."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "condition never became true"
        await asyncio.sleep(0.02)


@asynccontextmanager
async def client_for(url: str, api_key: str) -> AsyncIterator[AITBCClient]:
    """An SDK client over real HTTP with ``api_key``."""
    transport = HTTPTransport({"base_url": url, "default_headers": {"X-API-Key": api_key}})
    async with AITBCClient(transport) as client:
        yield client


@asynccontextmanager
async def running_miner(
    url: str,
    api_key: str,
    plugins: Mapping[str, Executor] | None = None,
    **config: Any,
) -> AsyncIterator[Miner]:
    """A registered in-process miner, stopped gracefully (and checked) on exit."""
    settings: dict[str, Any] = {"poll_wait": 1.0, "backoff_base": 0.05, "backoff_cap": 0.5}
    if plugins is not None:  # executors given as objects, not entry point names
        settings["executors"] = list(plugins)
    miner = Miner(
        MinerConfig(coordinator=url, api_key=api_key, **{**settings, **config}),
        executors=plugins,
    )
    async with miner.running(register_timeout=20):
        yield miner
