"""The one error tree of aitbc.

Every exception the SDK raises on purpose derives from :class:`AITBCError`; no aiohttp,
websockets or web3 exception escapes a public call::

    AITBCError
    ├── ConfigurationError (ValueError)        bad arguments or config: fix the call
    ├── MissingExtraError (ImportError)        a feature's optional extra is not installed
    ├── TransportError                         the request may not have reached the node
    │   ├── ConnectError                       could not open a connection
    │   ├── TransportTimeout (TimeoutError)    the call's deadline passed
    │   ├── ProtocolError                      the peer spoke something we cannot read
    │   ├── ConnectionClosed                   the peer closed or broke the connection
    │   └── TransportClosedError (RuntimeError) used after disconnect() (closed by *you*)
    ├── APIError                               the node answered with an error envelope
    │   ├── BadRequestError        400 / 422   (ValidationError is 422)
    │   ├── AuthenticationError    401
    │   ├── InsufficientFundsError 402
    │   ├── PermissionDeniedError  403
    │   ├── NotFoundError          404
    │   ├── ConflictError          409
    │   ├── NotReadyError          425
    │   ├── RateLimitedError       429
    │   └── ServerError            5xx
    ├── NetworkMismatchError                   the node's chain_id is not the configured one
    ├── MultiNetworkConnectError               connect_all failed for one or more networks
    ├── ReceiptVerificationError               a receipt failed offline verification
    ├── StreamGapError                         the node cannot replay events we missed
    ├── WaitTimeoutError (TimeoutError)        a wait_for_* deadline passed
    └── SettlementError                        cross-chain settlement failures
        ├── BridgeNotFoundError (ValueError)
        ├── UnsupportedChainError (ValueError)
        ├── SettlementValidationError (ValueError)
        └── BridgeTransactionError             a bridge transaction reverted or was refused
"""

from __future__ import annotations

from typing import Any


class AITBCError(Exception):
    """Root of every error aitbc raises on purpose."""


class ConfigurationError(AITBCError, ValueError):
    """The arguments or configuration are wrong; retrying will not help."""


class MissingExtraError(AITBCError, ImportError):
    """A feature needs an optional extra that is not installed.

    ``extra`` is the extra to install (``pip install 'aitbc[<extra>]'``), ``feature`` what
    needed it and ``missing`` the module that could not be imported.
    """

    def __init__(self, feature: str, extra: str, missing: str | None = None) -> None:
        self.feature = feature
        self.extra = extra
        self.missing = missing
        detail = f" ({missing} is not installed)" if missing else ""
        names = " and ".join(extra.split(","))
        noun = "extras" if "," in extra else "extra"
        super().__init__(
            f"{feature} needs the {names} {noun}: pip install 'aitbc[{extra}]'{detail}",
            name=missing,
        )


class TransportError(AITBCError):
    """A request failed below the API: it may or may not have reached the node."""


class ConnectError(TransportError):
    """No connection to the node could be opened."""


class TransportTimeout(TransportError, TimeoutError):
    """The call's deadline passed before an answer came."""


class ProtocolError(TransportError):
    """The peer sent something that is not valid for the protocol."""


class ConnectionClosed(TransportError):
    """The peer closed or broke the connection (broken by the *peer*)."""


class TransportClosedError(TransportError, RuntimeError):
    """The transport was used after ``disconnect()`` (closed by *you*)."""


class APIError(AITBCError):
    """The node answered with an error envelope.

    Attributes mirror the envelope: ``status`` (HTTP status), ``code`` (machine-readable),
    ``message``, ``request_id`` and ``details``.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        code: str = "unknown_error",
        request_id: str | None = None,
        details: list[Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id
        self.details = details or []
        self.retry_after = retry_after

    def __str__(self) -> str:
        rid = f", request_id={self.request_id}" if self.request_id else ""
        return f"{self.message} (status={self.status}, code={self.code}{rid})"


class BadRequestError(APIError):
    """400: the node could not accept the request as sent."""


class ValidationError(BadRequestError):
    """422: a field failed validation; ``details`` lists which."""


class AuthenticationError(APIError):
    """401: the API key is missing or unknown."""


class InsufficientFundsError(APIError):
    """402: the account cannot cover the amount."""


class PermissionDeniedError(APIError):
    """403: the key's principal may not do this."""


class NotFoundError(APIError):
    """404: no such resource visible to this principal."""


class ConflictError(APIError):
    """409: the resource's state does not allow this now."""


class NotReadyError(APIError):
    """425: the result is not ready yet."""


class RateLimitedError(APIError):
    """429: slow down; ``retry_after`` says for how long when the node said."""


class ServerError(APIError):
    """5xx: the node failed."""


class NetworkMismatchError(AITBCError):
    """The node reports a chain_id other than the one configured for it."""


class MultiNetworkConnectError(AITBCError):
    """``connect_all`` could not connect one or more networks; none is left open.

    ``failures`` maps each failed network's name to the error it raised; the message
    names every one with its chain id and cause.
    """

    def __init__(self, message: str, *, failures: dict[str, BaseException] | None = None) -> None:
        super().__init__(message)
        self.failures: dict[str, BaseException] = dict(failures or {})


class ReceiptVerificationError(AITBCError):
    """A receipt's signatures or fields did not verify."""


class BlobIntegrityError(AITBCError):
    """Blob bytes do not hash to the blob's id (corrupted or substituted in transit)."""


class StreamGapError(AITBCError):
    """The node can no longer replay events this subscriber missed."""

    def __init__(self, message: str, *, topic: str = "", last_seq: int = 0) -> None:
        super().__init__(message)
        self.topic = topic
        self.last_seq = last_seq


class WaitTimeoutError(AITBCError, TimeoutError):
    """A ``wait_for_*`` call's deadline passed before the awaited state."""


class SettlementError(AITBCError):
    """Root of cross-chain settlement failures."""


class BridgeNotFoundError(SettlementError, ValueError):
    """No bridge adapter of that name is registered."""


class UnsupportedChainError(SettlementError, ValueError):
    """The bridge or the chain registry does not know this chain."""


class SettlementValidationError(SettlementError, ValueError):
    """A settlement message is malformed, too large or badly signed."""


class BridgeTransactionError(SettlementError):
    """A bridge transaction reverted or the chain refused it."""


_STATUS_CLASSES: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: InsufficientFundsError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: ValidationError,
    425: NotReadyError,
    429: RateLimitedError,
}


def api_error_class(status: int) -> type[APIError]:
    """The APIError subclass for an HTTP status."""
    if status >= 500:
        return ServerError
    return _STATUS_CLASSES.get(status, APIError)
