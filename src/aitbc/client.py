"""AITBCClient: the resource APIs over one network's transport, or several networks'.

The client owns policy the transports do not: on first use it connects, reads
``GET /v1/info`` once, and refuses a node whose chain id is not the configured one.
APIs reach transports only through :meth:`AITBCClient.transport_for`, so every API
method takes ``chain_id=None`` and one client can serve many networks.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from .api import JobsAPI, MarketplaceAPI, ReceiptsAPI, WalletAPI
from .api.base import parse
from .api.blobs import BlobsAPI
from .errors import ConfigurationError, NetworkMismatchError, TransportClosedError
from .models import NodeInfo
from .multinetwork import MultiNetworkClient, NetworkConfig, networks_from_config
from .transports.base import Transport
from .transports.http import HTTPTransport
from .transports.registry import create_transport

__all__ = ["AITBCClient", "MultiNetworkClient", "NetworkConfig"]


def _legacy_config(
    api_key: str | None, base_url: str | None, extra: dict[str, Any]
) -> dict[str, Any]:
    if base_url is None:
        raise ConfigurationError("AITBCClient(api_key=..., base_url=...) needs base_url")
    headers = {"X-API-Key": api_key} if api_key else {}
    return {"base_url": base_url, "default_headers": headers, **extra}


class AITBCClient:
    """The AITBC SDK client.

    ``AITBCClient(transport)``, ``AITBCClient({"base_url": ...})`` (a config dict; its
    ``type`` picks the transport, default ``http``), the older
    ``AITBCClient(api_key=..., base_url=...)``, or
    ``AITBCClient({"networks": {...}}, multi_network=True)``. Use ``async with`` or
    ``connect()``/``disconnect()``; without ``connect()`` the first call connects.
    """

    def __init__(
        self,
        transport: Transport | Mapping[str, Any] | None = None,
        multi_network: bool = False,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        **http_config: Any,
    ) -> None:
        if api_key is not None or base_url is not None or http_config:
            if transport is not None:
                raise ConfigurationError("pass either a transport/config or base_url=, not both")
            transport = HTTPTransport(_legacy_config(api_key, base_url, http_config))
        if transport is None:
            raise ConfigurationError("AITBCClient needs a Transport, a config dict or base_url=")
        self.multi_network = multi_network
        self.multi_network_client: MultiNetworkClient | None = None
        if multi_network:
            if not isinstance(transport, Mapping):
                raise ConfigurationError("multi_network=True needs a config dict of networks")
            # create_transport looked up here so tests can substitute it on this module
            self.multi_network_client = networks_from_config(transport, create_transport)
        elif isinstance(transport, Transport):
            self.transport = transport
        elif isinstance(transport, Mapping):
            self.transport = create_transport(transport)
        else:
            raise ConfigurationError(f"not a Transport or config dict: {type(transport).__name__}")
        self._info: dict[int, NodeInfo] = {}  # by id(transport)
        self._locks: dict[int, asyncio.Lock] = {}
        self._closed = False
        self._init_apis()

    def _init_apis(self) -> None:
        self.jobs = JobsAPI(self)
        self.marketplace = MarketplaceAPI(self)
        self.wallet = WalletAPI(self)
        self.receipts = ReceiptsAPI(self)
        self.blobs = BlobsAPI(self)
        self._settlement: Any = None

    @property
    def settlement(self) -> Any:
        """``client.settlement``: the SettlementAPI (module ``aitbc.api.settlement``)."""
        if self._settlement is None:
            module = importlib.import_module("aitbc.api.settlement")
            self._settlement = module.SettlementAPI(self)
        return self._settlement

    def _transports(self) -> list[Transport]:
        if self.multi_network_client is None:
            return [self.transport]
        return [n.transport for n in self.multi_network_client.networks.values()]

    def _expected_chain(self, transport: Transport) -> int | None:
        if self.multi_network_client is not None:
            for net in self.multi_network_client.networks.values():
                if net.transport is transport:
                    return net.chain_id
        return transport.chain_id

    async def transport_for(self, chain_id: int | None = None) -> Transport:
        """The connected, chain-checked transport for ``chain_id`` (None: default network).

        Raises TransportClosedError after ``disconnect()``, NetworkMismatchError when the
        node serves another chain, ConfigurationError for a chain this client lacks.
        """
        if self._closed:
            raise TransportClosedError("AITBCClient used after disconnect(); call connect()")
        if self.multi_network_client is not None:
            transport = self.multi_network_client.get_transport(chain_id)
        else:
            transport = self.transport
        info = self._info.get(id(transport)) or await self._check_node(transport)
        if chain_id is not None and info.chain_id != chain_id:
            raise ConfigurationError(
                f"this client's node serves chain {info.chain_id}, not {chain_id}"
            )
        return transport

    async def node_info(self, chain_id: int | None = None) -> NodeInfo:
        """The node's ``/v1/info`` (chain id, version, signing keys), read once and cached."""
        transport = await self.transport_for(chain_id)
        return self._info[id(transport)]

    async def _check_node(self, transport: Transport) -> NodeInfo:
        lock = self._locks.setdefault(id(transport), asyncio.Lock())
        async with lock:  # concurrent first calls read /v1/info once
            if (known := self._info.get(id(transport))) is not None:
                return known
            await transport.connect()
            info = parse(NodeInfo, await transport.request("GET", "/v1/info"), "node info")
            expected = self._expected_chain(transport)
            if expected is not None and info.chain_id != expected:
                await transport.disconnect()
                raise NetworkMismatchError(
                    f"node at {transport.config.get('base_url', transport)!r} serves chain "
                    f"{info.chain_id}, but this client is configured for chain {expected}"
                )
            self._info[id(transport)] = info
            return info

    async def connect(self) -> None:
        """Connect every transport and check each node's chain id.

        Raises NetworkMismatchError (and leaves nothing open) if a node is on another chain;
        with several networks, MultiNetworkConnectError naming every network that failed.
        """
        self._closed = False
        if self.multi_network_client is not None:
            await self._connect_networks(self.multi_network_client)
            return
        try:
            for transport in self._transports():
                if id(transport) not in self._info:
                    await self._check_node(transport)
        except BaseException:
            await self.disconnect()
            self._closed = False
            raise

    async def _connect_networks(self, multi: MultiNetworkClient) -> None:
        # connect_all checks every chain concurrently and closes all on failure.
        infos = await multi.connect_all()
        for chain_id, info in infos.items():
            self._info[id(multi.networks[chain_id].transport)] = info

    async def disconnect(self) -> None:
        """Close every transport (always releases them, even if one fails to close)."""
        self._closed = True
        self._info.clear()
        if self.multi_network_client is not None:
            await self.multi_network_client.disconnect_all()
        else:
            await self.transport.disconnect()

    async def __aenter__(self) -> AITBCClient:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.disconnect()
