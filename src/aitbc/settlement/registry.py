"""Which bridge adapters exist: registered instances and the ``aitbc.bridges`` entry points."""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from ..errors import BridgeNotFoundError, ConfigurationError, UnsupportedChainError
from .bridges.base import BridgeAdapter, SettlementMessage

__all__ = [
    "ENTRY_POINT_GROUP",
    "AdapterSet",
    "available_bridges",
    "enabled_configs",
    "load_adapter",
]

ENTRY_POINT_GROUP = "aitbc.bridges"


def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available_bridges() -> list[str]:
    """Names of the bridges installed through the ``aitbc.bridges`` entry point group."""
    return sorted(_entry_points())


def load_adapter(name: str, known: list[str] | None = None) -> BridgeAdapter:
    """Instantiate the adapter installed under ``name`` (not yet initialized).

    Raises BridgeNotFoundError naming the known bridges, or ConfigurationError when the
    plugin cannot be imported (a missing extra) or is not a BridgeAdapter.
    """
    eps = _entry_points()
    if name not in eps:
        names = sorted({*eps, *(known or [])})
        raise BridgeNotFoundError(f"no bridge named {name!r}; known bridges: {names}")
    try:
        factory: Any = eps[name].load()
    except ImportError as exc:
        raise ConfigurationError(f"bridge {name!r} cannot be imported: {exc}") from exc
    adapter = factory()
    if not isinstance(adapter, BridgeAdapter):
        raise ConfigurationError(f"bridge {name!r} ({eps[name].value}) is not a BridgeAdapter")
    return adapter


class AdapterSet:
    """The manager's live adapters, by name, in the order they were added."""

    def __init__(self) -> None:
        self._adapters: dict[str, BridgeAdapter] = {}

    def add(self, name: str, adapter: BridgeAdapter) -> None:
        """Register ``adapter`` under ``name`` (replacing any previous one)."""
        if not name:
            raise ConfigurationError("a bridge needs a non-empty name")
        if not isinstance(adapter, BridgeAdapter):
            raise ConfigurationError(f"{adapter!r} is not a BridgeAdapter")
        self._adapters[name] = adapter

    def __contains__(self, name: object) -> bool:
        return name in self._adapters

    def names(self) -> list[str]:
        return list(self._adapters)

    def items(self) -> list[tuple[str, BridgeAdapter]]:
        return list(self._adapters.items())

    def get(self, name: str) -> BridgeAdapter:
        """The adapter named ``name``; BridgeNotFoundError lists the known ones."""
        try:
            return self._adapters[name]
        except KeyError:
            raise BridgeNotFoundError(
                f"no bridge named {name!r} is enabled; enabled: {self.names()}; "
                f"installed: {available_bridges()}"
            ) from None

    def choose(self, message: SettlementMessage) -> str:
        """The first enabled bridge supporting both of the message's chains."""
        wanted = {message.source_chain_id, message.target_chain_id}
        for name, adapter in self._adapters.items():
            if wanted <= adapter.supported_chains():
                return name
        if not self._adapters:
            raise BridgeNotFoundError(
                f"no bridge is enabled; installed bridges: {available_bridges()}"
            )
        raise UnsupportedChainError(
            f"no enabled bridge connects chain {message.source_chain_id} to "
            f"{message.target_chain_id}; enabled: {self.names()}"
        )


def enabled_configs(configs: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The configs whose ``enabled`` flag is not false, validated as mappings."""
    enabled: dict[str, dict[str, Any]] = {}
    for name, config in configs.items():
        if not isinstance(config, Mapping):
            raise ConfigurationError(f"config of bridge {name!r} must be a mapping")
        if config.get("enabled", True):
            enabled[name] = dict(config)
    return enabled
