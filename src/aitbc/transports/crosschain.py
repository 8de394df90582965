"""CrossChainTransport: ``/settlement/*`` goes to a BridgeManager, the rest to a base
transport (seed shape).

Config keys: ``base_transport`` (a Transport, or a config dict built through the
transport registry; optional), ``bridges`` (bridge name → adapter config, see
BridgeManager.initialize), ``storage`` (settlement store path or SQLAlchemy URL),
``chain_id``, ``trusted_keys`` (coordinator keys as /v1/info ``signing_keys`` entries or
base64url strings; when absent they are read once from the base transport's
``/v1/info``), ``adapters`` (name → ready BridgeAdapter instance, for plugins and
tests), ``poll_interval`` (seconds between status polls, default 2).

Needs the ``settlement`` extra (SQLAlchemy, web3 for the built-in bridges).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any

from ..errors import ConfigurationError, TransportClosedError
from ..settlement.bridges.base import BridgeAdapter, SettlementMessage, SettlementResult
from ..settlement.manager import BridgeManager
from ..settlement.routes import handle_settlement_request, is_settlement_path
from .base import JSONDict, Transport

__all__ = ["CrossChainTransport"]

INFO_PATH = "/v1/info"


def _base_transport(value: Any) -> Transport | None:
    if value is None or isinstance(value, Transport):
        return value
    if isinstance(value, Mapping):
        from .registry import create_transport

        if value.get("type") == "crosschain":
            raise ConfigurationError("a crosschain transport cannot be its own base transport")
        return create_transport(value)
    raise ConfigurationError(f"base_transport must be a Transport or a config dict, not {value!r}")


def _adapters(value: Any) -> dict[str, BridgeAdapter]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
        isinstance(a, BridgeAdapter) for a in value.values()
    ):
        raise ConfigurationError("adapters must map bridge names to BridgeAdapter instances")
    return dict(value)


class CrossChainTransport(Transport):
    """Settles through bridges locally and forwards every other request to a node.

    Lifecycle as every transport: lazy connect on first request, ``disconnect()`` always
    releases the manager (its store, adapters and tracker) and the base transport, and a
    request after ``disconnect()`` raises TransportClosedError until ``connect()``.
    """

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        super().__init__(config)
        self.base_transport = _base_transport(self.config.get("base_transport"))
        if self.config.get("chain_id") is None and self.base_transport is not None:
            # the network is the base node's unless said otherwise
            self.config["chain_id"] = self.base_transport.chain_id
        self._adapter_instances = _adapters(self.config.get("adapters"))
        bridges = self.config.get("bridges") or {}
        if not isinstance(bridges, Mapping):
            raise ConfigurationError("bridges must map bridge names to configs")
        self._bridge_configs = dict(bridges)
        self.bridge_manager = self._new_manager()
        self._connect_lock = asyncio.Lock()
        self._closed_by_user = False
        self._manager_closed = False

    def _new_manager(self) -> BridgeManager:
        trusted = self.config.get("trusted_keys")
        manager = BridgeManager(
            self.config.get("storage"),
            trusted_keys=trusted,
            poll_interval=float(self.config.get("poll_interval", 2.0)),
        )
        for name, adapter in self._adapter_instances.items():
            manager.register_adapter(name, adapter)
        return manager

    async def connect(self) -> None:
        """Connect the base transport and initialize the bridges and store (idempotent)."""
        async with self._connect_lock:
            if self._connected:
                return
            self._closed_by_user = False
            if self._manager_closed:  # a closed manager cannot reopen: build a fresh one
                self.bridge_manager = self._new_manager()
                self._manager_closed = False
            try:
                if self.base_transport is not None:
                    await self.base_transport.connect()
                await self.bridge_manager.initialize(self._bridge_configs)
            except BaseException:
                await self._release()
                raise
            self._connected = True

    async def disconnect(self) -> None:
        """Stop tracking, close bridges, store and base transport; never raises on close."""
        self._closed_by_user = True
        await self._release()

    async def _release(self) -> None:
        self._connected = False
        self._manager_closed = True
        try:
            await self.bridge_manager.close()
        finally:
            if self.base_transport is not None:
                await self.base_transport.disconnect()

    async def _ready(self) -> BridgeManager:
        if self._closed_by_user:
            raise TransportClosedError("CrossChainTransport used after disconnect(); connect()")
        if not self._connected:
            await self.connect()
        return self.bridge_manager

    async def request(
        self,
        method: str,
        path: str,
        data: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> JSONDict:
        """``/settlement/*`` → the BridgeManager; anything else → the base transport.

        Raises ConfigurationError for a non-settlement path without a base transport.
        """
        manager = await self._ready()
        if is_settlement_path(path):
            if method.upper() == "POST" and path.rstrip("/").endswith("/cross-chain"):
                await self._ensure_trusted_keys(manager)
            return await handle_settlement_request(manager, method, path, data)
        return await self._base(path).request(method, path, data, params, headers)

    async def request_once(
        self,
        method: str,
        path: str,
        data: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> JSONDict:
        """As :meth:`request`, but one attempt on the base transport: the client's
        retry policy wraps it, and would otherwise multiply the base transport's own."""
        if is_settlement_path(path):
            return await self.request(method, path, data, params, headers)
        await self._ready()
        return await self._base(path).request_once(method, path, data, params, headers)

    def _base(self, path: str) -> Transport:
        if self.base_transport is None:
            raise ConfigurationError(
                f"CrossChainTransport has no base_transport to serve {path}; "
                "configure base_transport (a Transport or a config dict)"
            )
        return self.base_transport

    async def _ensure_trusted_keys(self, manager: BridgeManager) -> None:
        # Keys come from config or, once, from the node the receipts came from.
        if manager.has_trusted_keys or self.base_transport is None:
            return
        info = await self.base_transport.request("GET", INFO_PATH)
        keys = info.get("signing_keys") if isinstance(info, Mapping) else None
        if isinstance(keys, list) and keys:
            manager.set_trusted_keys(keys)

    async def stream(
        self, method: str, path: str, data: Mapping[str, Any] | None = None
    ) -> AsyncIterator[JSONDict]:
        """Forward a subscription to the base transport (settlements do not stream)."""
        await self._ready()
        async for event in self._base(path).stream(method, path, data):
            yield event

    async def settle_cross_chain(
        self, message: SettlementMessage, bridge_name: str | None = None
    ) -> SettlementResult:
        """Settle ``message`` through the manager (see BridgeManager.settle_cross_chain)."""
        manager = await self._ready()
        await self._ensure_trusted_keys(manager)
        return await manager.settle_cross_chain(message, bridge_name)

    async def estimate_settlement_cost(
        self, message: SettlementMessage, bridge_name: str | None = None
    ) -> dict[str, Any]:
        """The bridge's fee quote as a dict (fees as decimal strings)."""
        manager = await self._ready()
        return await manager.estimate_settlement_cost(message, bridge_name)
