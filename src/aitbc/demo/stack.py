"""The demo's local stack: an embedded node, two in-process miners with offers on the
marketplace, and a py-evm devnet (two chains, both bridges, a relayer) in its own thread.

Everything here is an async context manager, so a failure or Ctrl-C at any point stops
what was started, in reverse order.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from .. import AITBCClient, HTTPTransport
from ..devnet import BackgroundDevnet, DevnetConfig
from ..miner import Miner, MinerConfig
from ..node.embedded import EmbeddedNode

OFFER_CAPACITY = 8


@dataclass(frozen=True)
class Party:
    """A principal of the demo: its display name, account id and API key."""

    name: str
    account_id: str
    api_key: str


@dataclass(frozen=True)
class RunningMiner:
    """A registered miner and the principal it serves as."""

    party: Party
    miner: Miner

    @property
    def miner_id(self) -> str:
        """The id the node records on the jobs and receipts this miner completes."""
        return str(self.miner.miner_id)


@asynccontextmanager
async def client_for(url: str, api_key: str) -> AsyncIterator[AITBCClient]:
    """An SDK client over HTTP acting as the principal of ``api_key``."""
    transport = HTTPTransport({"base_url": url, "default_headers": {"X-API-Key": api_key}})
    async with AITBCClient(transport) as client:
        yield client


async def create_party(node: EmbeddedNode, role: str, name: str, funds: int = 0) -> Party:
    """A new principal on ``node``, given ``funds`` base units by the faucet."""
    account_id, key = await node.create_principal(role, name)
    if funds:
        await node.faucet(account_id, funds)
    return Party(name, account_id, key)


@asynccontextmanager
async def running_miners(
    node: EmbeddedNode, names: Sequence[str], offer_prices: Sequence[int]
) -> AsyncIterator[list[RunningMiner]]:
    """One registered miner per name, each with an open marketplace offer; all stopped
    (in-flight jobs given a short grace) on exit."""
    async with AsyncExitStack() as stack:
        miners = []
        for name, price in zip(names, offer_prices, strict=True):
            party = await create_party(node, "miner", name)
            # A short grace: on Ctrl-C the user wants out, not the job's completion.
            config = MinerConfig(
                coordinator=node.url,
                api_key=party.api_key,
                poll_wait=2.0,
                shutdown_grace=1.0,
                backoff_base=0.05,
            )
            miner = await stack.enter_async_context(Miner(config).running(register_timeout=20))
            await _publish_offer(node.url, party, miner, price)
            miners.append(RunningMiner(party, miner))
        yield miners


async def _publish_offer(url: str, party: Party, miner: Miner, price: int) -> None:
    async with client_for(url, party.api_key) as client:
        await client.marketplace.create_offer(
            capacity=OFFER_CAPACITY,
            price_per_unit=price,
            models=sorted(miner.executors),
            region="local",
        )


class DevnetHandle:
    """A BackgroundDevnet started without blocking the event loop (it comes up while the
    node and miners work) and always stopped on ``close()``, Ctrl-C included."""

    def __init__(self, chain_ids: Sequence[int]) -> None:
        self.chain_ids = list(chain_ids)
        self._devnet = BackgroundDevnet(self.chain_ids)
        self._starting: asyncio.Future[DevnetConfig] | None = None

    def begin(self) -> None:
        """Start the chains, contracts and relayer in the background."""
        self._starting = asyncio.ensure_future(asyncio.to_thread(self._devnet.start))

    async def config(self) -> DevnetConfig:
        """Wait until the devnet is up; its config. Raises what starting it raised."""
        if self._starting is None:
            self.begin()
        assert self._starting is not None
        # Shielded: a cancelled waiter must not orphan the start (close() awaits it).
        return await asyncio.shield(self._starting)

    async def close(self) -> None:
        """Wait out a start in progress (a thread cannot be interrupted), then stop."""
        if self._starting is not None:
            await asyncio.gather(self._starting, return_exceptions=True)
        await asyncio.to_thread(self._devnet.stop)


@asynccontextmanager
async def devnet_in_background(chain_ids: Sequence[int]) -> AsyncIterator[DevnetHandle]:
    """A DevnetHandle already starting; stopped on exit."""
    handle = DevnetHandle(chain_ids)
    handle.begin()
    try:
        yield handle
    finally:
        await handle.close()
