"""aitbc: the Python SDK for the AITBC AI-compute marketplace.

Start with :class:`AITBCClient` over an :class:`HTTPTransport` (or a config dict), use
``client.jobs``, ``client.marketplace``, ``client.wallet`` and ``client.receipts``; every
error it raises on purpose is an :class:`AITBCError`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .client import AITBCClient, MultiNetworkClient, NetworkConfig
from .errors import (
    AITBCError,
    APIError,
    AuthenticationError,
    BadRequestError,
    BridgeNotFoundError,
    BridgeTransactionError,
    ConfigurationError,
    ConflictError,
    ConnectError,
    ConnectionClosed,
    InsufficientFundsError,
    MultiNetworkConnectError,
    NetworkMismatchError,
    NotFoundError,
    NotReadyError,
    PermissionDeniedError,
    ProtocolError,
    RateLimitedError,
    ReceiptVerificationError,
    ServerError,
    SettlementError,
    SettlementValidationError,
    StreamGapError,
    TransportClosedError,
    TransportError,
    TransportTimeout,
    UnsupportedChainError,
    ValidationError,
    WaitTimeoutError,
)
from .models import (
    Balance,
    Bid,
    Job,
    JobResult,
    JobState,
    MarketStats,
    NodeInfo,
    Offer,
    Page,
    Principal,
    Receipt,
    Transfer,
)
from .settlement.bridges.base import BridgeStatus, SettlementMessage, SettlementResult
from .sync import SyncAITBCClient
from .transports import (
    HTTPTransport,
    MockRequest,
    MockTransport,
    RetryPolicy,
    Transport,
    create_transport,
    known_transport_types,
)
from .transports.websocket import WebSocketTransport

if TYPE_CHECKING:
    from .settlement.manager import BridgeManager
    from .transports.crosschain import CrossChainTransport

# Settlement's manager and transport need SQLAlchemy (extra ``aitbc[evm]``): imported on
# first use so that a plain SDK install still imports ``aitbc``.
_LAZY = {
    "BridgeManager": "aitbc.settlement.manager",
    "CrossChainTransport": "aitbc.transports.crosschain",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'aitbc' has no attribute {name!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ImportError(
            f"aitbc.{name} needs the settlement extra: pip install 'aitbc[evm]' ({exc})"
        ) from exc
    return getattr(module, name)


__version__ = "0.1.0"

__all__ = [
    "AITBCClient",
    "AITBCError",
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "Balance",
    "Bid",
    "BridgeManager",
    "BridgeNotFoundError",
    "BridgeStatus",
    "BridgeTransactionError",
    "ConfigurationError",
    "ConflictError",
    "ConnectError",
    "ConnectionClosed",
    "CrossChainTransport",
    "HTTPTransport",
    "InsufficientFundsError",
    "Job",
    "JobResult",
    "JobState",
    "MarketStats",
    "MockRequest",
    "MockTransport",
    "MultiNetworkClient",
    "MultiNetworkConnectError",
    "NetworkConfig",
    "NetworkMismatchError",
    "NodeInfo",
    "NotFoundError",
    "NotReadyError",
    "Offer",
    "Page",
    "PermissionDeniedError",
    "Principal",
    "ProtocolError",
    "RateLimitedError",
    "Receipt",
    "ReceiptVerificationError",
    "RetryPolicy",
    "ServerError",
    "SettlementError",
    "SettlementMessage",
    "SettlementResult",
    "SettlementValidationError",
    "StreamGapError",
    "SyncAITBCClient",
    "Transfer",
    "Transport",
    "TransportClosedError",
    "TransportError",
    "TransportTimeout",
    "UnsupportedChainError",
    "ValidationError",
    "WaitTimeoutError",
    "WebSocketTransport",
    "__version__",
    "create_transport",
    "known_transport_types",
]
