"""The Transport interface: I/O only. Policy (auth, API shapes) lives in the client.

A transport turns ``request(method, path, data, params, headers)`` into one JSON answer
and ``stream(method, path, data)`` into an async iterator of events. Every backend
exception is mapped to :mod:`aitbc.errors` at this boundary.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping
from types import TracebackType
from typing import Any

JSONDict = dict[str, Any]


class Transport(ABC):
    """Abstract base class for all transports (seed contract).

    ``config`` is the plain dict a user passes; ``chain_id`` comes from it. Use as
    ``async with transport:`` or call ``connect()`` / ``disconnect()``; ``disconnect()``
    always releases resources, even when a graceful close fails.
    """

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        self.config: dict[str, Any] = dict(config or {})
        self._connected = False

    @abstractmethod
    async def connect(self) -> None:
        """Open the connection (idempotent)."""

    @abstractmethod
    async def disconnect(self) -> None:
        """Close the connection and release every resource; never hangs."""

    @abstractmethod
    async def request(
        self,
        method: str,
        path: str,
        data: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> JSONDict:
        """Send one request and return the decoded JSON answer (``{}`` for no content).

        Raises an :class:`aitbc.errors.APIError` subclass for an error envelope and a
        :class:`aitbc.errors.TransportError` subclass when the exchange itself failed.
        """

    async def request_once(
        self,
        method: str,
        path: str,
        data: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> JSONDict:
        """One attempt, no retries and no deadline of its own: the I/O half of a call.

        :class:`aitbc.AITBCClient` owns the retry policy and the call's deadline and
        calls this, so one call behaves the same on every transport. A transport whose
        ``request`` retries by itself overrides it; the default sends ``request``.
        Raises like :meth:`request`; a connection lost before the answer must raise
        ConnectionClosed at once (never wait out a deadline on a dead connection).
        """
        return await self.request(method, path, data, params, headers)

    @abstractmethod
    def stream(
        self,
        method: str,
        path: str,
        data: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[JSONDict]:
        """Subscribe and yield events ``{"topic", "seq", "event", "data"}`` in order.

        Leaving the iterator (break, cancel, ``aclose``) unsubscribes.
        """

    @property
    def is_connected(self) -> bool:
        """True between a successful ``connect()`` and ``disconnect()``."""
        return self._connected

    @property
    def chain_id(self) -> int | None:
        """The chain id this transport is configured for, if any."""
        value = self.config.get("chain_id")
        return int(value) if value is not None else None

    async def __aenter__(self) -> Transport:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.disconnect()
