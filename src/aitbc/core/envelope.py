"""The error envelope codec shared by node and SDK."""

from __future__ import annotations

import json
from typing import Any

from ..errors import APIError, api_error_class


def error_envelope(
    code: str, message: str, request_id: str, details: list[Any] | None = None
) -> dict[str, Any]:
    """The one error body every 4xx/5xx carries."""
    return {
        "error": {
            "code": code,
            "message": message,
            "request_id": request_id,
            "details": details or [],
        }
    }


def error_from_response(
    status: int,
    body: bytes,
    *,
    request_id: str | None = None,
    retry_after: float | None = None,
) -> APIError:
    """Build the APIError for an error response, even when its body is not an envelope."""
    cls = api_error_class(status)
    try:
        payload = json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError):
        payload = None
    err = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(err, dict):
        return cls(
            str(err.get("message") or f"HTTP {status}"),
            status=status,
            code=str(err.get("code") or "unknown_error"),
            request_id=err.get("request_id") or request_id,
            details=err.get("details") if isinstance(err.get("details"), list) else None,
            retry_after=retry_after,
        )
    snippet = body[:200].decode("utf-8", "replace").strip()
    message = f"HTTP {status} with a non-JSON body" + (f": {snippet}" if snippet else "")
    return cls(
        message,
        status=status,
        code="http_" + str(status),
        request_id=request_id,
        retry_after=retry_after,
    )
