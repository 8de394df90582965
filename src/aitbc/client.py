"""AITBCClient: the resource APIs over one network's transport, or several networks'.

The client owns policy the transports do not: on first use it connects, reads
``GET /v1/info`` once, and refuses a node whose chain id is not the configured one.
APIs reach transports only through :meth:`AITBCClient.transport_for`, so every API
method takes ``chain_id=None`` and one client can serve many networks.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from .api import JobsAPI, MarketplaceAPI, ReceiptsAPI, WalletAPI
from .api.base import parse
from .errors import ConfigurationError, NetworkMismatchError, TransportClosedError
from .models import NodeInfo
from .transports.base import Transport
from .transports.http import HTTPTransport
from .transports.registry import create_transport

__all__ = ["AITBCClient", "MultiNetworkClient", "NetworkConfig"]

_log = logging.getLogger(__name__)


@dataclass
class NetworkConfig:
    """One network of a multi-network client (seed shape)."""

    name: str
    chain_id: int
    transport: Transport
    is_default: bool = False
    bridges: list[str] = field(default_factory=list)


class MultiNetworkClient:
    """Transports by chain id, with a default network (seed shape)."""

    def __init__(self) -> None:
        self.networks: dict[int, NetworkConfig] = {}
        self.default_network: int | None = None

    def add_network(self, config: NetworkConfig) -> None:
        """Register a network; the first one, or one marked default, is the default."""
        if config.chain_id in self.networks:
            raise ConfigurationError(f"chain {config.chain_id} is configured twice")
        self.networks[config.chain_id] = config
        if config.is_default or self.default_network is None:
            self.default_network = config.chain_id

    def get_transport(self, chain_id: int | None = None) -> Transport:
        """The transport of ``chain_id`` (None: the default); ConfigurationError if unknown."""
        network_id = self.default_network if chain_id is None else chain_id
        if network_id is None or network_id not in self.networks:
            known = ", ".join(str(c) for c in self.networks) or "none"
            raise ConfigurationError(f"network {network_id} not configured (known: {known})")
        return self.networks[network_id].transport

    async def connect_all(self) -> None:
        """Connect every network's transport."""
        for config in self.networks.values():
            await config.transport.connect()

    async def disconnect_all(self) -> None:
        """Disconnect every transport; one failing does not keep the others open."""
        for config in self.networks.values():
            try:
                await config.transport.disconnect()
            except Exception as exc:  # keep closing the rest
                _log.warning("disconnect of network %s failed: %r", config.name, exc)


def _legacy_config(
    api_key: str | None, base_url: str | None, extra: dict[str, Any]
) -> dict[str, Any]:
    if base_url is None:
        raise ConfigurationError("AITBCClient(api_key=..., base_url=...) needs base_url")
    headers = {"X-API-Key": api_key} if api_key else {}
    return {"base_url": base_url, "default_headers": headers, **extra}


def _networks_from_config(config: Mapping[str, Any]) -> MultiNetworkClient:
    networks = config.get("networks")
    if not isinstance(networks, Mapping) or not networks:
        raise ConfigurationError("multi_network=True needs {'networks': {name: config, ...}}")
    multi = MultiNetworkClient()
    for name, net in networks.items():
        if not isinstance(net, Mapping) or "chain_id" not in net:
            raise ConfigurationError(f"network {name!r} needs a config dict with a chain_id")
        multi.add_network(
            NetworkConfig(
                name=str(name),
                chain_id=int(net["chain_id"]),
                transport=create_transport(net),
                is_default=bool(net.get("default", False)),
                bridges=list(net.get("bridges") or []),
            )
        )
    return multi


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
            self.multi_network_client = _networks_from_config(transport)
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

        Raises NetworkMismatchError (and leaves nothing open) if a node is on another chain.
        """
        self._closed = False
        try:
            for transport in self._transports():
                if id(transport) not in self._info:
                    await self._check_node(transport)
        except BaseException:
            await self.disconnect()
            self._closed = False
            raise

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
