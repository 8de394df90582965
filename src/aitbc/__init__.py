"""aitbc: the Python SDK for the AITBC AI-compute marketplace.

Start with :class:`AITBCClient` over an :class:`HTTPTransport` (or a config dict), use
``client.jobs``, ``client.marketplace``, ``client.wallet`` and ``client.receipts``; every
error it raises on purpose is an :class:`AITBCError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
        MissingExtraError,
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
    from .settlement.manager import BridgeManager
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
    from .transports.crosschain import CrossChainTransport
    from .transports.websocket import WebSocketTransport

# Every public name is imported on first access (PEP 562): ``import aitbc`` stays cheap
# for the ``aitbc`` command and for code that needs one class, and a name whose extra is
# missing still imports (its first use raises MissingExtraError naming the extra).
_EXPORTS: dict[str, tuple[str, ...]] = {
    ".client": ("AITBCClient", "MultiNetworkClient", "NetworkConfig"),
    ".sync": ("SyncAITBCClient",),
    ".errors": (
        "AITBCError",
        "APIError",
        "AuthenticationError",
        "BadRequestError",
        "BridgeNotFoundError",
        "BridgeTransactionError",
        "ConfigurationError",
        "ConflictError",
        "ConnectError",
        "ConnectionClosed",
        "InsufficientFundsError",
        "MissingExtraError",
        "MultiNetworkConnectError",
        "NetworkMismatchError",
        "NotFoundError",
        "NotReadyError",
        "PermissionDeniedError",
        "ProtocolError",
        "RateLimitedError",
        "ReceiptVerificationError",
        "ServerError",
        "SettlementError",
        "SettlementValidationError",
        "StreamGapError",
        "TransportClosedError",
        "TransportError",
        "TransportTimeout",
        "UnsupportedChainError",
        "ValidationError",
        "WaitTimeoutError",
    ),
    ".models": (
        "Balance",
        "Bid",
        "Job",
        "JobResult",
        "JobState",
        "MarketStats",
        "NodeInfo",
        "Offer",
        "Page",
        "Principal",
        "Receipt",
        "Transfer",
    ),
    ".settlement.bridges.base": ("BridgeStatus", "SettlementMessage", "SettlementResult"),
    ".transports": (
        "HTTPTransport",
        "MockRequest",
        "MockTransport",
        "RetryPolicy",
        "Transport",
        "create_transport",
        "known_transport_types",
    ),
    ".transports.websocket": ("WebSocketTransport",),
    ".settlement.manager": ("BridgeManager",),
    ".transports.crosschain": ("CrossChainTransport",),
}
# Names whose module needs an extra beyond the core install.
_EXTRA_OF: dict[str, str] = {"BridgeManager": "settlement", "CrossChainTransport": "settlement"}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}


def __getattr__(name: str) -> Any:
    module_name = _MODULE_OF.get(name)
    if module_name is None:
        raise AttributeError(f"module 'aitbc' has no attribute {name!r}")
    from importlib import import_module

    extra = _EXTRA_OF.get(name)
    if extra is None:
        value = getattr(import_module(module_name, __name__), name)
    else:
        from ._extras import missing_extra_error, unavailable_class

        try:
            value = getattr(import_module(module_name, __name__), name)
        except ImportError as exc:
            error = missing_extra_error(exc, f"aitbc.{name}", extra)
            if error is None:
                raise
            value = unavailable_class(name, error)
    globals()[name] = value  # later accesses are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


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
    "MissingExtraError",
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
