"""The outermost ASGI layer: request ids, body limit, metrics, last-resort 500 envelope.

It is pure ASGI (not BaseHTTPMiddleware) so long-polls and streams pass through
untouched, and it renders unhandled exceptions itself so even a 500 carries the
envelope and the ``X-Request-ID`` header.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..core.envelope import error_envelope
from .metrics import NodeMetrics

log = logging.getLogger("aitbc.node")
_SAFE_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")


def request_id_of(scope: Scope) -> str:
    """The id assigned to this request (also valid inside handlers via request.state)."""
    state = scope.get("state") or {}
    return str(state.get("request_id", ""))


def _incoming_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if _SAFE_ID.fullmatch(text):
                return str(text)
    return "req_" + secrets.token_hex(12)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class RequestContextMiddleware:
    """Assign request ids, enforce ``max_body_bytes``, time requests, catch crashes."""

    def __init__(self, app: ASGIApp, metrics: NodeMetrics, max_body_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = {"code": 500, "sent": False}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"], status["sent"] = message["status"], True
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            length = _content_length(scope)
            if length is not None and length > self.max_body_bytes:
                await self._reply(
                    send_with_id,
                    413,
                    "payload_too_large",
                    f"body exceeds {self.max_body_bytes} bytes",
                    request_id,
                )
            else:
                await self.app(scope, self._limited(receive), send_with_id)
        except Exception:
            log.exception("unhandled error in %s %s", scope["method"], scope["path"])
            if not status["sent"]:
                await self._reply(
                    send_with_id, 500, "internal_error", "internal server error", request_id
                )
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.observe(
                scope["method"], route, int(status["code"]), time.perf_counter() - started
            )

    def _limited(self, receive: Receive) -> Receive:
        """``receive`` that refuses bodies beyond the limit even without Content-Length
        (chunked uploads); the handler turns the HTTPException into the 413 envelope."""
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise HTTPException(413, f"body exceeds {self.max_body_bytes} bytes")
            return message

        return limited

    @staticmethod
    async def _reply(send: Send, status: int, code: str, message: str, rid: str) -> None:
        body = json.dumps(error_envelope(code, message, rid)).encode()
        headers: list[tuple[bytes, bytes]] = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        start: dict[str, Any] = {
            "type": "http.response.start",
            "status": status,
            "headers": headers,
        }
        await send(start)
        await send({"type": "http.response.body", "body": body})
