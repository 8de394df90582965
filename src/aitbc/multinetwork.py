"""The network registry of every client: NetworkConfig, MultiNetworkClient, config builder.

Each network is one node (or several endpoints of one, see
:mod:`aitbc.transports.failover`) reached through its own transport, keyed by chain id::

    multi = networks_from_config({"networks": {
        "ethereum": {"type": "http", "chain_id": 1, "base_url": "...", "default": True},
        "polygon": {"type": "http", "chain_id": 137, "endpoints": ["...", "..."]},
    }})
    await multi.connect_all()          # concurrently; checks every node's chain id
    multi.get_transport(137)           # the polygon transport

:class:`aitbc.AITBCClient` always routes through one: ``AITBCClient(config,
multi_network=True)`` fills it from ``networks``, a single transport or config becomes a
registry of one network. That one network may leave its chain id unset: it is then
learned from the node's ``/v1/info`` when it first connects (and checked on every later
connect). This module is the registry only: which network a call goes to when the caller
did not say (settlement routing, receipt issuers) is :mod:`aitbc.api.routing`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pydantic

from .errors import (
    ConfigurationError,
    MultiNetworkConnectError,
    NetworkMismatchError,
    ProtocolError,
    ReceiptVerificationError,
)
from .models import NodeInfo
from .transports.base import Transport
from .transports.registry import create_transport

__all__ = [
    "MultiNetworkClient",
    "NetworkConfig",
    "check_node",
    "networks_from_config",
    "settles",
]

_log = logging.getLogger(__name__)

INFO_PATH = "/v1/info"
TransportFactory = Callable[[Mapping[str, Any]], Transport]


def _bridge_names(bridges: Any) -> list[str]:
    """Bridge names from a list of names or a dict of bridge configs (enabled ones)."""
    if bridges is None:
        return []
    if isinstance(bridges, Mapping):
        return [
            str(name)
            for name, conf in bridges.items()
            if not (isinstance(conf, Mapping) and conf.get("enabled") is False)
        ]
    if isinstance(bridges, list | tuple) and all(isinstance(b, str) for b in bridges):
        return list(bridges)
    raise ConfigurationError(f"bridges must be a list of names or a dict of configs: {bridges!r}")


@dataclass
class NetworkConfig:
    """One network of a client (seed shape).

    ``chain_id`` None means "whatever chain the node serves": learned from ``/v1/info`` on
    first connect; only a registry's sole network may leave it unset. ``bridges`` lists
    the bridge names this network settles through; a dict of bridge configs (as a
    crosschain transport takes) is accepted and becomes its enabled names.
    """

    name: str
    chain_id: int | None
    transport: Transport
    is_default: bool = False
    bridges: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        chain = self.chain_id
        if chain is not None and (isinstance(chain, bool) or not isinstance(chain, int)):
            raise ConfigurationError(f"network {self.name!r}: chain_id must be an int or None")
        if not isinstance(self.transport, Transport):
            raise ConfigurationError(f"network {self.name!r}: transport must be a Transport")
        self.bridges = _bridge_names(self.bridges)

    @property
    def label(self) -> str:
        """``name (chain N)``, as errors show it."""
        chain = "not yet known" if self.chain_id is None else self.chain_id
        return f"{self.name} (chain {chain})"


async def check_node(network: NetworkConfig) -> NodeInfo:
    """Connect ``network``'s transport and return its node's ``/v1/info``.

    Raises NetworkMismatchError when the node serves another chain than a set
    ``network.chain_id``, ProtocolError for an unreadable answer, and what the transport
    raises when it cannot connect.
    """
    transport = network.transport
    await transport.connect()
    answer = await transport.request("GET", INFO_PATH)
    try:
        info = NodeInfo.model_validate(answer)
    except pydantic.ValidationError as exc:
        raise ProtocolError(f"unexpected /v1/info from {network.label}: {exc}") from exc
    if network.chain_id is not None and info.chain_id != network.chain_id:
        raise NetworkMismatchError(
            f"network {network.label}: node at {transport.config.get('base_url', transport)!r} "
            f"serves chain {info.chain_id}, but this client is configured for chain "
            f"{network.chain_id}"
        )
    return info


class MultiNetworkClient:
    """Transports by chain id, with one default network; connects them and keeps each
    node's ``/v1/info``.

    The default is the network added with ``is_default=True``, else the first added.
    :meth:`ready` connects one network lazily (once, however many calls race to it),
    :meth:`connect_all` every network at once; both go through the same check.
    """

    def __init__(self) -> None:
        self.networks: dict[int, NetworkConfig] = {}  # networks whose chain id is known
        self.default_network: int | None = None
        self.node_info: dict[int, NodeInfo] = {}  # by chain id, filled as networks connect
        self._explicit_default = False
        # The sole network whose chain id its node will tell us (None once learned).
        self._unbound: NetworkConfig | None = None
        self._locks: dict[int, asyncio.Lock] = {}  # by id(network)

    @property
    def all_networks(self) -> list[NetworkConfig]:
        """Every configured network, one whose chain id is not known yet included."""
        unbound = [] if self._unbound is None else [self._unbound]
        return unbound + list(self.networks.values())

    def add_network(self, config: NetworkConfig) -> None:
        """Register a network.

        Raises ConfigurationError when its chain id is configured already, when it is
        marked default and another network already is, or when a network without a
        chain id would not be the only one.
        """
        unbound = config if config.chain_id is None else self._unbound
        if unbound is not None and self.all_networks:
            raise ConfigurationError(
                f"network {unbound.name!r} has no chain_id: only a client's sole network "
                "may learn its chain id from the node; give every network a chain_id"
            )
        if config.chain_id is None:
            self._unbound = config
            return
        if config.chain_id in self.networks:
            other = self.networks[config.chain_id]
            raise ConfigurationError(f"chain {config.chain_id} is configured twice: {other.name}")
        if config.is_default and self._explicit_default:
            current = self.networks[self.default_network or 0]
            raise ConfigurationError(
                f"two default networks: {current.label} and {config.label}; mark only one"
            )
        self.networks[config.chain_id] = config
        if config.is_default:
            self.default_network, self._explicit_default = config.chain_id, True
        elif self.default_network is None:
            self.default_network = config.chain_id

    def describe(self) -> str:
        """The configured networks as ``name (chain N), ...`` (or ``none``)."""
        return ", ".join(n.label for n in self.all_networks) or "none"

    def network(self, chain_id: int | None = None) -> NetworkConfig:
        """The network of ``chain_id`` (None: the default one).

        A sole network whose chain id is not known yet is returned for any ``chain_id``
        (:meth:`ready` checks it once the node has told its chain). Raises
        ConfigurationError naming every configured network when there is none.
        """
        if self._unbound is not None:
            return self._unbound
        wanted = self.default_network if chain_id is None else chain_id
        found = self.networks.get(wanted) if wanted is not None else None
        if found is None:
            what = "no default network" if wanted is None else f"chain {wanted} is not configured"
            raise ConfigurationError(f"{what}; configured networks: {self.describe()}")
        return found

    def get_transport(self, chain_id: int | None = None) -> Transport:
        """The transport of ``chain_id`` (None: the default network); see :meth:`network`."""
        return self.network(chain_id).transport

    async def ready(self, chain_id: int | None = None) -> tuple[NetworkConfig, NodeInfo]:
        """The network of ``chain_id`` (None: the default), connected and chain-checked,
        with its node's ``/v1/info``.

        Connects on first use only. Raises NetworkMismatchError (closing the transport)
        when the node serves another chain than configured, ConfigurationError when
        ``chain_id`` is served by no network, and what the transport raises.
        """
        network = self.network(chain_id)
        info = self._known_info(network) or await self._check(network)
        if chain_id is not None and info.chain_id != chain_id:
            raise ConfigurationError(
                f"chain {chain_id} is not configured; configured networks: {self.describe()}"
            )
        return network, info

    def _known_info(self, network: NetworkConfig) -> NodeInfo | None:
        return None if network.chain_id is None else self.node_info.get(network.chain_id)

    async def _check(self, network: NetworkConfig) -> NodeInfo:
        async with self._locks.setdefault(id(network), asyncio.Lock()):
            known = self._known_info(network)
            if known is not None:  # another call connected it while this one waited
                return known
            try:
                info = await check_node(network)
            except Exception:
                await _disconnect_logged(network)  # nothing left half-open
                raise
            if network is self._unbound:  # learned: from now on checked like the others
                network.chain_id = info.chain_id
                self._unbound = None
                self.networks[info.chain_id] = network
                self.default_network = info.chain_id
            self.node_info[info.chain_id] = info
            return info

    async def connect_all(self) -> dict[int, NodeInfo]:
        """Connect every network concurrently and check each node's chain id.

        Returns (and keeps in ``node_info``) each node's ``/v1/info`` by chain id. If any
        network fails, closes every transport (none is left half-open) and raises ONE
        MultiNetworkConnectError naming each failed network with its cause; a registry of
        one network raises that network's own error (there is nothing to combine).
        """
        nets = self.all_networks
        try:
            results = await asyncio.gather(*map(self._check, nets), return_exceptions=True)
        except BaseException:  # cancelled while connecting: close what did open
            await self.disconnect_all()
            raise
        failures: dict[str, BaseException] = {}
        for net, result in zip(nets, results, strict=True):
            if isinstance(result, NodeInfo):
                continue
            if isinstance(result, Exception):
                failures[net.name] = result
            else:  # cancellation or interpreter exit: close, then let it through
                await self.disconnect_all()
                raise result
        if failures:
            await self.disconnect_all()
            if len(nets) == 1:
                raise failures[nets[0].name]
            raise MultiNetworkConnectError(self._failure_message(failures), failures=failures)
        return dict(self.node_info)

    def _failure_message(self, failures: Mapping[str, BaseException]) -> str:
        by_name = {n.name: n for n in self.all_networks}
        parts = [
            f"{by_name[name].label}: {type(exc).__name__}: {exc}" for name, exc in failures.items()
        ]
        return f"{len(failures)} of {len(by_name)} networks failed to connect: " + "; ".join(parts)

    async def disconnect_all(self) -> dict[str, BaseException]:
        """Close every network's transport concurrently, even when some closes fail.

        A transport's ``disconnect()`` should never raise; one that does is logged and
        returned here (name → error) rather than raised, so closing a client (often on
        an error path already) never hides the error that got it there. A chain id
        learned from the node is kept: a later connect checks the node still serves it.
        """
        self.node_info.clear()
        nets = self.all_networks
        results = await asyncio.gather(*map(_disconnect_logged, nets))
        return {net.name: error for net, error in zip(nets, results, strict=True) if error}

    def issuer_chain(self, receipt: Mapping[str, Any]) -> int:
        """The chain whose node must have signed ``receipt``: the chain id it carries.

        Raises ReceiptVerificationError when no configured network serves that chain.
        """
        chain = receipt.get("chain_id")
        if isinstance(chain, bool) or not isinstance(chain, int) or chain not in self.networks:
            raise ReceiptVerificationError(
                f"receipt is from chain {chain!r}, which no configured network serves "
                f"(configured: {self.describe()})"
            )
        return chain

    def settling_network(self) -> NetworkConfig:
        """The network whose transport runs the bridges (serves ``/settlement/*``): the
        default one when it does, else the only one that does.

        Raises ConfigurationError when none or several do (then pass ``chain_id=``).
        """
        default = self.network()
        if settles(default.transport):
            return default
        settlers = [n for n in self.networks.values() if settles(n.transport)]
        if len(settlers) != 1:
            which = ", ".join(n.label for n in settlers) or "none"
            raise ConfigurationError(
                f"cannot tell which network settles (crosschain networks: {which}); "
                "pass chain_id= for the network whose transport should settle"
            )
        return settlers[0]


async def _disconnect_logged(network: NetworkConfig) -> BaseException | None:
    """Close ``network``'s transport; a failure is logged and returned, never raised."""
    try:
        await network.transport.disconnect()
    except Exception as exc:  # closing must not hide the error that led here
        _log.warning("disconnect of network %s failed: %r", network.label, exc)
        return exc
    return None


def settles(transport: Transport) -> bool:
    """True for a transport that runs bridges itself (CrossChainTransport or alike).

    Duck-typed, so the SDK core does not import the settlement extra.
    """
    return callable(getattr(transport, "settle_cross_chain", None))


def _network(name: str, net: Any, create: TransportFactory) -> NetworkConfig:
    if not isinstance(net, Mapping) or "chain_id" not in net:
        raise ConfigurationError(f"network {name!r} needs a config dict with a chain_id")
    chain = net["chain_id"]
    if isinstance(chain, bool) or not isinstance(chain, int):
        raise ConfigurationError(f"network {name!r}: chain_id must be an int, got {chain!r}")
    transport_config = {k: v for k, v in net.items() if k != "default"}
    return NetworkConfig(
        name=str(name),
        chain_id=chain,
        transport=create(transport_config),
        is_default=bool(net.get("default", False)),
        bridges=_bridge_names(net.get("bridges")),
    )


def networks_from_config(
    config: Mapping[str, Any], create: TransportFactory = create_transport
) -> MultiNetworkClient:
    """A MultiNetworkClient from ``{"networks": {name: transport config + chain_id}}``.

    Each network's transport comes from the transport registry by its ``type``
    (``http`` by default; ``endpoints``/``base_urls`` lists build a failover transport).
    ``default: True`` marks the default network. Raises ConfigurationError for a bad
    config; transports already built are not opened, so nothing needs closing.
    """
    networks = config.get("networks")
    if not isinstance(networks, Mapping) or not networks:
        raise ConfigurationError("multi_network=True needs {'networks': {name: config, ...}}")
    multi = MultiNetworkClient()
    for name, net in networks.items():
        multi.add_network(_network(str(name), net, create))
    return multi
