"""Resource APIs of :class:`aitbc.AITBCClient` (``client.jobs``, ``client.wallet``...)."""

from __future__ import annotations

from .base import ResourceAPI, TransportResolver
from .jobs import JobsAPI
from .marketplace import MarketplaceAPI
from .pages import PageIterator
from .receipts import ReceiptsAPI
from .wallet import WalletAPI

__all__ = [
    "JobsAPI",
    "MarketplaceAPI",
    "PageIterator",
    "ReceiptsAPI",
    "ResourceAPI",
    "TransportResolver",
    "WalletAPI",
]
