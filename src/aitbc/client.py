"""AITBCClient: the resource APIs over one network's transport, or several networks'.

The client owns policy the transports do not: on first use it connects, reads
``GET /v1/info`` once, and refuses a node whose chain id is not the configured one; and it
owns the retry policy of every call (the httpx split: policy here, I/O in the transport).
Each call runs under one deadline; the client sends attempts through
:meth:`Transport.request_once <aitbc.transports.base.Transport.request_once>` and retries
429/503 after their Retry-After, and a connection lost before the answer when repeating
is harmless (an idempotent method or an Idempotency-Key, generated once per call and
reused by every attempt). So one call behaves the same over HTTP, WebSocket or failover.

A single-network client is a multi-network client with one network: every client
routes, connects and closes through one :class:`~aitbc.multinetwork.MultiNetworkClient`
registry (a single transport or config is a registry of one network, whose chain id may
be learned from the node). APIs reach transports only through
:meth:`AITBCClient.transport_for` / :meth:`AITBCClient.call`, every API method takes
``chain_id=None``, and ``client.transport`` is the default network's transport.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from ._logging import configure_from_env
from .api import JobsAPI, MarketplaceAPI, ReceiptsAPI, WalletAPI
from .api.blobs import BlobsAPI
from .api.settlement import SettlementAPI
from .errors import (
    APIError,
    ConfigurationError,
    TransportClosedError,
    TransportError,
    TransportTimeout,
)
from .models import NodeInfo
from .multinetwork import MultiNetworkClient, NetworkConfig, networks_from_config
from .transports.base import JSONDict, Transport
from .transports.http import HTTPTransport
from .transports.registry import create_transport
from .transports.retry import Deadline, RetryPolicy, Sleep, call_with_retries

__all__ = ["AITBCClient", "MultiNetworkClient", "NetworkConfig"]

_log = logging.getLogger("aitbc.client")
_DEFAULT_TIMEOUT = 30.0
#: Job id → chain memory per client (the newest are kept; older jobs are looked up).
_MAX_REMEMBERED_JOBS = 10_000
_CLOSED = "AITBCClient used after disconnect(); call connect()"


class _Unset:
    """Marks an option not given to ``with_options`` (``None`` means "no timeout")."""


_UNSET = _Unset()


def _legacy_config(
    api_key: str | None, base_url: str | None, extra: dict[str, Any]
) -> dict[str, Any]:
    if base_url is None:
        raise ConfigurationError("AITBCClient(api_key=..., base_url=...) needs base_url")
    headers = {"X-API-Key": api_key} if api_key else {}
    return {"base_url": base_url, "default_headers": headers, **extra}


@dataclass(frozen=True)
class CallOptions:
    """Overrides of the per-call policy; unset ones come from each transport's config
    (``timeout``, ``max_retries``, ``backoff_base``, ``backoff_cap``, ``retry_statuses``)."""

    timeout: float | _Unset | None = _UNSET
    max_retries: int | None = None
    sleep: Sleep = asyncio.sleep

    # Resolved per transport once: building a RetryPolicy per call cost ~10% of a call.
    _resolved: dict[int, tuple[float | None, RetryPolicy]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def resolve(self, transport: Transport) -> tuple[float | None, RetryPolicy]:
        """(deadline seconds, retry policy) of a call through ``transport``."""
        found = self._resolved.get(id(transport))
        if found is None:
            found = self._resolved[id(transport)] = self._resolve(transport)
        return found

    def _resolve(self, transport: Transport) -> tuple[float | None, RetryPolicy]:
        if not isinstance(self.timeout, _Unset):
            timeout = self.timeout
        else:
            value = transport.config.get("timeout", _DEFAULT_TIMEOUT)
            timeout = None if value is None else float(value)
        config: dict[str, Any] = dict(transport.config)
        if self.max_retries is not None:
            config["max_retries"] = self.max_retries
        return timeout, RetryPolicy.from_config(config)


@dataclass
class _Shared:
    """State every ``with_options`` view of one client shares."""

    networks: MultiNetworkClient
    jobs: OrderedDict[str, int] = field(default_factory=OrderedDict)  # job id -> chain
    closed: bool = False


class AITBCClient:
    """The AITBC SDK client.

    ``AITBCClient(transport)``, ``AITBCClient({"base_url": ...})`` (a config dict; its
    ``type`` picks the transport, default ``http``), the older
    ``AITBCClient(api_key=..., base_url=...)``, or
    ``AITBCClient({"networks": {...}}, multi_network=True)``: all of them a client
    over a :class:`MultiNetworkClient` registry (``client.networks``) of one network or
    several. Use ``async with`` or ``connect()``/``disconnect()``; without
    ``connect()`` the first call connects.
    ``client.with_options(timeout=..., max_retries=...)`` is the same client with
    another per-call policy. For synchronous code see :class:`aitbc.SyncAITBCClient`.
    """

    jobs: JobsAPI
    marketplace: MarketplaceAPI
    wallet: WalletAPI
    receipts: ReceiptsAPI
    settlement: SettlementAPI
    blobs: BlobsAPI

    def __init__(
        self,
        transport: Transport | Mapping[str, Any] | None = None,
        multi_network: bool = False,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        **http_config: Any,
    ) -> None:
        configure_from_env()
        if api_key is not None or base_url is not None or http_config:
            if transport is not None:
                raise ConfigurationError("pass either a transport/config or base_url=, not both")
            transport = HTTPTransport(_legacy_config(api_key, base_url, http_config))
        if transport is None:
            raise ConfigurationError("AITBCClient needs a Transport, a config dict or base_url=")
        self.multi_network = multi_network
        self._shared = _Shared(networks=_registry(transport, multi_network))
        self._options = CallOptions()
        self._init_apis()

    def _init_apis(self) -> None:
        self.jobs = JobsAPI(self)
        self.marketplace = MarketplaceAPI(self)
        self.wallet = WalletAPI(self)
        self.receipts = ReceiptsAPI(self)
        self.settlement = SettlementAPI(self)
        self.blobs = BlobsAPI(self)

    # -- networks ----------------------------------------------------------------------

    @property
    def transport(self) -> Transport:
        """The default network's transport (the only one of a single-network client)."""
        return self._shared.networks.get_transport()

    @property
    def networks(self) -> MultiNetworkClient:
        """The registry every call is routed through (one network or several)."""
        return self._shared.networks

    @property
    def multi_network_client(self) -> MultiNetworkClient:
        """The network registry (the seed's name; same as :attr:`networks`)."""
        return self._shared.networks

    async def transport_for(self, chain_id: int | None = None) -> Transport:
        """The connected, chain-checked transport for ``chain_id`` (None: default network).

        Raises TransportClosedError after ``disconnect()``, NetworkMismatchError when the
        node serves another chain, ConfigurationError for a chain this client lacks.
        """
        network, _info = await self._ready(chain_id)
        return network.transport

    async def node_info(self, chain_id: int | None = None) -> NodeInfo:
        """The node's ``/v1/info`` (chain id, version, signing keys), read once and cached."""
        _network, info = await self._ready(chain_id)
        return info

    async def _ready(self, chain_id: int | None) -> tuple[NetworkConfig, NodeInfo]:
        if self._shared.closed:
            raise TransportClosedError(_CLOSED)
        return await self._shared.networks.ready(chain_id)

    def remember_job(self, job_id: str, chain_id: int) -> None:
        """Note that ``job_id`` lives on ``chain_id`` (the APIs call this on create)."""
        jobs = self._shared.jobs
        jobs[job_id] = chain_id
        jobs.move_to_end(job_id)
        while len(jobs) > _MAX_REMEMBERED_JOBS:
            jobs.popitem(last=False)

    def job_chain(self, job_id: str) -> int | None:
        """The chain this client created (or found) ``job_id`` on, if it knows."""
        return self._shared.jobs.get(job_id)

    # -- calls -------------------------------------------------------------------------

    def with_options(
        self,
        *,
        timeout: float | _Unset | None = _UNSET,
        max_retries: int | None = None,
        sleep: Sleep | None = None,
    ) -> AITBCClient:
        """This client with another per-call policy: ``timeout`` (seconds for a whole
        call, retries included; None for none) and ``max_retries`` (0: no retry).
        ``sleep`` replaces ``asyncio.sleep`` for backoff waits (tests move a clock).

        The copy shares transports, connection and caches with this client, so
        ``client.with_options(timeout=5).jobs.get(job_id)`` sets it for one call.
        """
        if not isinstance(timeout, _Unset) and timeout is not None and timeout <= 0:
            raise ConfigurationError(f"timeout must be > 0 or None, got {timeout!r}")
        if max_retries is not None and (isinstance(max_retries, bool) or max_retries < 0):
            raise ConfigurationError(f"max_retries must be an int >= 0, got {max_retries!r}")
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        current = self._options
        clone._options = CallOptions(
            timeout=current.timeout if isinstance(timeout, _Unset) else timeout,
            max_retries=current.max_retries if max_retries is None else max_retries,
            sleep=current.sleep if sleep is None else sleep,
        )
        clone._init_apis()
        return clone

    async def call(
        self,
        method: str,
        path: str,
        data: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        chain_id: int | None = None,
    ) -> JSONDict:
        """One API call under this client's policy (the APIs' single way out).

        Runs attempts through the transport's ``request_once`` under one deadline and
        retries what :class:`~aitbc.transports.retry.RetryPolicy` allows. Raises the
        last attempt's error, or TransportTimeout when the deadline passes.
        """
        shared = self._shared  # _ready() inlined: one coroutine frame fewer per call
        if shared.closed:
            raise TransportClosedError(_CLOSED)
        network, _info = await shared.networks.ready(chain_id)
        transport = network.transport
        timeout, policy = self._options.resolve(transport)
        deadline = Deadline(timeout)
        debug = _log.isEnabledFor(logging.DEBUG)
        started = time.perf_counter() if debug else 0.0

        try:
            with deadline:  # asyncio.timeout's job at a third of its cost (see Deadline)
                try:  # the common case first, without the retry machinery
                    answer = await transport.request_once(method, path, data, params, headers)
                    first_error = None
                except (APIError, TransportError) as exc:
                    first_error = exc
                if first_error is not None:
                    answer = await call_with_retries(
                        functools.partial(
                            transport.request_once, method, path, data, params, headers
                        ),
                        policy,
                        method=method,
                        headers=headers,
                        deadline=deadline,
                        sleep=self._options.sleep,
                        what=f"{method} {path}",
                        first_error=first_error,
                    )
        except TimeoutError as exc:
            if isinstance(exc, TransportTimeout):
                raise
            if debug:
                _log.debug("%s %s timed out after %.1f ms", method, path, _ms(started))
            raise TransportTimeout(f"{method} {path}: no answer within {timeout}s") from exc
        except Exception as exc:
            if debug:
                _log.debug(
                    "%s %s failed in %.1f ms: %s", method, path, _ms(started), type(exc).__name__
                )
            raise
        if debug:
            _log.debug("%s %s ok in %.1f ms", method, path, _ms(started))
        return answer

    # -- lifecycle ---------------------------------------------------------------------

    async def connect(self) -> None:
        """Connect every network concurrently and check each node's chain id.

        Leaves nothing open on failure. Raises that network's error (NetworkMismatchError
        when a node is on another chain) with one network; with several,
        MultiNetworkConnectError naming every network that failed.
        """
        self._shared.closed = False
        await self._shared.networks.connect_all()

    async def disconnect(self) -> None:
        """Close every transport (always releases them, even if one fails to close)."""
        self._shared.closed = True
        await self._shared.networks.disconnect_all()

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


def _registry(transport: Transport | Mapping[str, Any], multi_network: bool) -> MultiNetworkClient:
    """The client's networks: ``{"networks": ...}`` with ``multi_network=True``, else one
    network (chain id from its config, or learned from the node on connect)."""
    # create_transport is looked up on this module so tests can substitute it.
    if multi_network:
        if not isinstance(transport, Mapping):
            raise ConfigurationError("multi_network=True needs a config dict of networks")
        return networks_from_config(transport, create_transport)
    if isinstance(transport, Mapping):
        transport = create_transport(transport)
    elif not isinstance(transport, Transport):
        raise ConfigurationError(f"not a Transport or config dict: {type(transport).__name__}")
    registry = MultiNetworkClient()
    registry.add_network(NetworkConfig("default", transport.chain_id, transport, is_default=True))
    return registry


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
