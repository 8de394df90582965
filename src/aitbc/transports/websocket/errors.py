"""websockets (and OS) exceptions and error frames, mapped to :mod:`aitbc.errors`."""

from __future__ import annotations

import json
from typing import Any

import websockets.exceptions

from ...errors import (
    AITBCError,
    APIError,
    ConfigurationError,
    ConnectError,
    ConnectionClosed,
    ProtocolError,
    StreamGapError,
    TransportError,
    TransportTimeout,
    api_error_class,
)
from ..retry import parse_retry_after

__all__ = ["api_error", "gap_error", "json_or_none", "map_websockets_error"]

_WX = websockets.exceptions

# Checked in MRO order of the raised class, so the most specific entry wins.
_WS_ERROR_MAP: dict[type[BaseException], type[AITBCError]] = {
    _WX.InvalidURI: ConfigurationError,
    _WX.InvalidProxy: ConfigurationError,
    _WX.ConnectionClosed: ConnectionClosed,
    _WX.InvalidHandshake: ProtocolError,
    _WX.ProtocolError: ProtocolError,
    _WX.PayloadTooBig: ProtocolError,
    _WX.ConcurrencyError: ProtocolError,
    _WX.WebSocketException: TransportError,
    ConnectionError: ConnectionClosed,
    TimeoutError: TransportTimeout,
    OSError: ConnectError,
}


def map_websockets_error(exc: BaseException) -> AITBCError:
    """The aitbc error for a websockets (or OS) exception; raise it ``from exc``.

    A rejected handshake becomes the APIError of its HTTP status (401 →
    AuthenticationError). Unknown exceptions map to TransportError.
    """
    response = getattr(exc, "response", None)
    if isinstance(exc, _WX.InvalidStatus) and response is not None:
        return api_error(response.status_code, json_or_none(response.body or b""))
    for cls in type(exc).__mro__:
        target = _WS_ERROR_MAP.get(cls)
        if target is not None:
            return target(_describe(exc))
    return TransportError(_describe(exc))


def _describe(exc: BaseException) -> str:
    try:
        text = str(exc)
    except Exception:  # a half-initialised exception may not format itself
        text = ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def json_or_none(raw: bytes | bytearray | str) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None


def api_error(status: int, body: Any) -> APIError:
    """Build the APIError for a ``{"error": {...}}`` body (or anything else)."""
    err = body.get("error") if isinstance(body, dict) else None
    err = err if isinstance(err, dict) else {}
    details = err.get("details")
    # An answer frame may carry the HTTP answer's Retry-After among its headers.
    frame_headers = body.get("headers") if isinstance(body, dict) else None
    retry_after = None
    if isinstance(frame_headers, dict):
        retry_after = parse_retry_after(_header(frame_headers, "Retry-After"))
    return api_error_class(status)(
        str(err.get("message") or f"status {status}"),
        status=status,
        code=str(err.get("code") or "unknown_error"),
        request_id=err.get("request_id"),
        details=details if isinstance(details, list) else None,
        retry_after=retry_after,
    )


def _header(headers: dict[str, Any], name: str) -> str | None:
    wanted = name.lower()
    return next((str(v) for k, v in headers.items() if str(k).lower() == wanted), None)


def gap_error(topic: str, last_seq: int, body: Any) -> StreamGapError:
    message = "the node cannot replay the events after this subscription's position"
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        message = str(body["error"].get("message") or message)
    return StreamGapError(f"{topic}: {message}", topic=topic, last_seq=last_seq)
