"""Run a WebSocket request envelope through the node's own HTTP app, in process.

One implementation, two doors: a WS request becomes an ASGI ``http`` call into the same
app (middleware, auth, validation, services, error envelope), carrying the connection's
API key. Nothing is re-implemented, so REST and WS cannot drift apart.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.types import ASGIApp, Message

#: Envelope headers a client may set per request; identity always comes from the connection.
FORWARDED_HEADERS = frozenset({"idempotency-key", "x-request-id"})
#: Paths that stream forever; a request/response door cannot serve them.
_STREAMING_PATHS = ("/v1/ws", "/v1/events")


class EnvelopeError(ValueError):
    """The envelope itself is malformed (answered as 400 ``bad_request``)."""


@dataclass(frozen=True)
class Envelope:
    """A validated request envelope ``{"id","method","path","data","params","headers"}``."""

    id: str
    method: str
    path: str
    data: Any
    params: Mapping[str, Any]
    headers: Mapping[str, str]

    @classmethod
    def parse(cls, message: Mapping[str, Any]) -> Envelope:
        """Validate a decoded message; raises EnvelopeError naming the bad field."""
        method, path = message.get("method"), message.get("path")
        if not isinstance(method, str) or not method.isalpha():
            raise EnvelopeError("'method' must be an HTTP method such as GET or POST")
        if not isinstance(path, str) or not path.startswith("/v1/"):
            raise EnvelopeError("'path' must be an absolute /v1/... path")
        if path.split("?")[0].rstrip("/") in _STREAMING_PATHS:
            raise EnvelopeError(f"{path} streams; use subscribe instead")
        params = message.get("params") or {}
        headers = message.get("headers") or {}
        if not isinstance(params, dict) or not isinstance(headers, dict):
            raise EnvelopeError("'params' and 'headers' must be objects")
        return cls(
            str(message.get("id", "")),
            method.upper(),
            path,
            message.get("data"),
            params,
            {str(k): str(v) for k, v in headers.items() if str(k).lower() in FORWARDED_HEADERS},
        )


def _scope(base: Mapping[str, Any], env: Envelope, api_key: str | None) -> dict[str, Any]:
    path, _, query = env.path.partition("?")
    extra = urlencode({k: v for k, v in env.params.items() if v is not None}, doseq=True)
    query = "&".join(part for part in (query, extra) if part)
    headers = [(k.lower().encode(), v.encode()) for k, v in env.headers.items()]
    headers.append((b"content-type", b"application/json"))
    if api_key:
        headers.append((b"x-api-key", api_key.encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": env.method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": base.get("root_path", ""),
        "headers": headers,
        "client": base.get("client"),
        "server": base.get("server"),
        "state": dict(base.get("state") or {}),
        "extensions": {},
    }


async def call_app(
    app: ASGIApp, base_scope: Mapping[str, Any], env: Envelope, api_key: str | None
) -> tuple[int, bytes]:
    """Run ``env`` through ``app``; return (HTTP status, raw JSON body, maybe empty)."""
    body = b"" if env.data is None else json.dumps(env.data).encode()
    done = asyncio.Event()
    sent_body = False
    status = 500
    chunks: list[bytes] = []

    async def receive() -> Message:
        nonlocal sent_body
        if not sent_body:
            sent_body = True
            return {"type": "http.request", "body": body, "more_body": False}
        await done.wait()  # an app waiting for disconnect learns it once we have the answer
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                done.set()

    try:
        await app(_scope(base_scope, env, api_key), receive, send)
    finally:
        done.set()
    return status, b"".join(chunks)


def reply_frame(request_id: str, status: int, raw: bytes) -> str:
    """The WS answer frame for one app response.

    A success body is spliced in as-is (it is the app's own JSON: no decode/encode round
    trip on the hot path); error bodies are unpacked into ``"error"``.
    """
    head = f'{{"id":{json.dumps(request_id)},"status":{status}'
    body = raw.strip()
    if status < 400 and body.startswith(b"{"):
        return f'{head},"data":{body.decode()}}}'
    if status < 400 and not body:
        return f'{head},"data":null}}'
    try:
        error = json.loads(body).get("error")
    except (ValueError, AttributeError):
        error = None
    if not isinstance(error, dict):
        text = body[:200].decode("utf-8", "replace")
        error = {
            "code": f"http_{status}",
            "message": f"HTTP {status}: {text}",
            "request_id": f"ws_{request_id}",
            "details": [],
        }
    return f"{head},{json.dumps({'error': error})[1:]}"
