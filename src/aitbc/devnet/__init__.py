"""The local devnet: py-evm (or anvil) chains, our contracts, and a fault-injecting relayer.

Start one with ``aitbc devnet`` or, from Python, ``Devnet`` / ``BackgroundDevnet``. The SDK
never imports this package; it reads the config file the devnet writes.

Names load on first access, so ``aitbc.devnet.config`` (what a settlement client reads)
imports with the settlement extra alone; the chains need the devnet extra (py-evm).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import DEV_KEYS, ChainContracts, ChainInfo, DevnetConfig
    from .faults import FaultRule
    from .relayer import DeliveryAttempt, Relayer
    from .runner import BackgroundDevnet, Devnet

_MODULE_OF = {
    "DEV_KEYS": ".config",
    "ChainContracts": ".config",
    "ChainInfo": ".config",
    "DevnetConfig": ".config",
    "FaultRule": ".faults",
    "DeliveryAttempt": ".relayer",
    "Relayer": ".relayer",
    "BackgroundDevnet": ".runner",
    "Devnet": ".runner",
}


def __getattr__(name: str) -> Any:
    module_name = _MODULE_OF.get(name)
    if module_name is None:
        raise AttributeError(f"module 'aitbc.devnet' has no attribute {name!r}")
    from .._extras import import_for

    value = getattr(
        import_for(f"aitbc.devnet{module_name}", f"aitbc.devnet.{name}", "devnet"), name
    )
    globals()[name] = value
    return value


__all__ = [
    "DEV_KEYS",
    "BackgroundDevnet",
    "ChainContracts",
    "ChainInfo",
    "DeliveryAttempt",
    "Devnet",
    "DevnetConfig",
    "FaultRule",
    "Relayer",
]
