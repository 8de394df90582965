"""The local devnet: py-evm (or anvil) chains, our contracts, and a fault-injecting relayer.

Start one with ``aitbc devnet`` or, from Python, ``Devnet`` / ``BackgroundDevnet``. The SDK
never imports this package; it reads the config file the devnet writes.
"""

from __future__ import annotations

from .config import DEV_KEYS, ChainContracts, ChainInfo, DevnetConfig
from .faults import FaultRule
from .relayer import DeliveryAttempt, Relayer
from .runner import BackgroundDevnet, Devnet

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
