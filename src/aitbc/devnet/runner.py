"""Start a whole devnet: chains, contracts, relayer, config file.

Two ways to hold one:

- ``async with Devnet([1, 42161]) as devnet:`` in the caller's event loop;
- ``with BackgroundDevnet([1, 42161]) as devnet:`` runs it in its own thread and loop, so
  synchronous code and pytest fixtures of any scope can share one, and py-evm's CPU work
  does not block the caller's loop.

Either way ``devnet.config`` (a DevnetConfig) says where everything is, and
``devnet.relayer`` takes fault rules.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Sequence
from concurrent.futures import Future
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, TypeVar

from aitbc.errors import ConfigurationError
from aitbc.settlement.bridges._evm import close_web3, open_web3

from .config import DEV_KEYS, ChainInfo, DevnetConfig
from .deploy import bridge_ids, deploy_chain, wire_peers
from .nodes import AnvilNode, PyEvmNode
from .relayer import Relayer

T = TypeVar("T")
BACKENDS = ("pyevm", "anvil")
START_TIMEOUT_S = 120.0


class _Node(Protocol):
    async def start(self) -> str: ...
    async def stop(self) -> None: ...


class Devnet:
    """Two or more local chains with our contracts deployed and a relayer between them."""

    def __init__(
        self,
        chain_ids: Sequence[int],
        backend: str = "pyevm",
        *,
        config_out: str | Path | None = None,
        relayer_poll_s: float = 0.05,
    ) -> None:
        if len(set(chain_ids)) < 2 or len(set(chain_ids)) != len(chain_ids):
            raise ConfigurationError(
                f"a devnet needs two or more distinct chain ids, got {list(chain_ids)}"
            )
        if backend not in BACKENDS:
            raise ConfigurationError(f"unknown devnet backend {backend!r}; use one of {BACKENDS}")
        self.chain_ids = list(chain_ids)
        self.backend = backend
        self.config_out = Path(config_out) if config_out else None
        self._poll_s = relayer_poll_s
        self._nodes: list[_Node] = []
        self._relayer: Relayer | None = None
        self._config: DevnetConfig | None = None

    @property
    def config(self) -> DevnetConfig:
        """Where everything is; raises ConfigurationError before ``start``."""
        if self._config is None:
            raise ConfigurationError("the devnet is not started")
        return self._config

    @property
    def relayer(self) -> Relayer:
        """The running relayer (add fault rules here)."""
        if self._relayer is None:
            raise ConfigurationError("the devnet is not started")
        return self._relayer

    async def start(self) -> DevnetConfig:
        """Start chains, deploy, wire, start the relayer and write the config file."""
        try:
            urls = [await self._start_node(chain_id) for chain_id in self.chain_ids]
            chains = await self._deploy(urls)
            self._config = DevnetConfig(self.backend, chains, dict(DEV_KEYS))
            self._relayer = Relayer(chains, DEV_KEYS["relayer"], self._poll_s)
            await self._relayer.start()
        except BaseException:
            await self.stop()
            raise
        if self.config_out is not None:
            self._config.write(self.config_out)
        return self._config

    async def stop(self) -> None:
        """Stop the relayer and every chain (safe to call twice)."""
        relayer, self._relayer = self._relayer, None
        if relayer is not None:
            await relayer.stop()
        nodes, self._nodes = self._nodes, []
        for node in reversed(nodes):
            await node.stop()

    async def __aenter__(self) -> Devnet:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _start_node(self, chain_id: int) -> str:
        node: _Node = (
            AnvilNode(chain_id)
            if self.backend == "anvil"
            else PyEvmNode(chain_id, list(DEV_KEYS.values()))
        )
        url = await node.start()
        self._nodes.append(node)
        return url

    async def _deploy(self, urls: list[str]) -> list[ChainInfo]:
        web3s = {cid: open_web3(url) for cid, url in zip(self.chain_ids, urls, strict=True)}
        try:
            chains = []
            for index, (chain_id, url) in enumerate(zip(self.chain_ids, urls, strict=True)):
                eid, selector = bridge_ids(chain_id, index)
                relayer = _address(DEV_KEYS["relayer"])
                contracts = await deploy_chain(
                    web3s[chain_id],
                    DEV_KEYS["deployer"],
                    relayer,
                    chain_id,
                    eid,
                    selector,
                )
                chains.append(ChainInfo(chain_id, url, eid, selector, contracts))
            await wire_peers(chains, web3s, DEV_KEYS["deployer"], _address(DEV_KEYS["relayer"]))
            return chains
        finally:
            for w3 in web3s.values():
                await close_web3(w3)


def _address(private_key: str) -> str:
    from eth_account import Account

    return str(Account.from_key(private_key).address)


class BackgroundDevnet:
    """A Devnet running in its own thread and event loop; use as a context manager."""

    def __init__(self, chain_ids: Sequence[int], backend: str = "pyevm", **options: Any) -> None:
        self.devnet = Devnet(chain_ids, backend, **options)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="aitbc-devnet", daemon=True
        )

    @property
    def config(self) -> DevnetConfig:
        """The running devnet's config."""
        return self.devnet.config

    @property
    def relayer(self) -> Relayer:
        """The running relayer; its fault plan is safe to change from this thread."""
        return self.devnet.relayer

    def run(self, coro: Coroutine[Any, Any, T], timeout_s: float = 60.0) -> T:
        """Run ``coro`` in the devnet's loop and return its result."""
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(timeout_s)

    def start(self) -> DevnetConfig:
        """Start the thread and the devnet; returns its config."""
        self._thread.start()
        try:
            return self.run(self.devnet.start(), START_TIMEOUT_S)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the devnet, the loop and the thread."""
        if not self._thread.is_alive():
            return
        try:
            self.run(self.devnet.stop())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()

    def __enter__(self) -> BackgroundDevnet:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
