"""Run a WebSocket request envelope through the node's own HTTP app, in process.

One implementation, two doors: a WS request becomes an ASGI ``http`` call into the same
app (middleware, auth, validation, services, error envelope), carrying the connection's
API key. Nothing is re-implemented, so REST and WS cannot drift apart. What is fixed per
connection (the scope's static parts, where the request enters the stack) is worked out
once by :class:`AppDoor`, so a WS call costs the server no more than the same HTTP call.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, cast
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


def entry_layer(app: Any) -> ASGIApp:
    """Where a WS request enters ``app``'s built middleware stack: its first user
    middleware (the node's request-context layer), below FastAPI's own outer layers.

    Those outer layers (server-error page, exception telemetry, FastAPI's body limit) add
    nothing for an in-process call: the request-context layer already renders every
    unhandled error as the 500 envelope and enforces ``max_body_bytes``. Everything from
    it inward (request id, body limit, metrics, exception handlers, routing,
    dependencies, the route) is the very stack HTTP requests run through.
    """
    stack = getattr(app, "middleware_stack", None)
    user = getattr(app, "user_middleware", None)
    if stack is None or not user:
        return cast(ASGIApp, app)  # not a started Starlette app: enter at the top
    first = user[0].cls
    layer: Any = stack
    while layer is not None and not isinstance(layer, first):
        layer = getattr(layer, "app", None)
    return cast(ASGIApp, app if layer is None else layer)


class AppDoor:
    """One WebSocket connection's door into the app: the parts of the synthetic HTTP
    scope that never change per request (client, server, identity headers) and the
    stack entry are worked out once, at the handshake, not once per frame."""

    __slots__ = ("_app", "_entry", "_identity", "_state", "_static")

    def __init__(self, app: Any, base_scope: Mapping[str, Any], api_key: str | None) -> None:
        self._app = app
        self._entry = entry_layer(app)
        self._static = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "scheme": "http",
            "root_path": base_scope.get("root_path", ""),
            "client": base_scope.get("client"),
            "server": base_scope.get("server"),
        }
        self._state = dict(base_scope.get("state") or {})
        identity = [(b"content-type", b"application/json")]
        if api_key:
            identity.append((b"x-api-key", api_key.encode()))
        self._identity = identity

    def scope(self, env: Envelope) -> dict[str, Any]:
        """A fresh ``http`` scope for ``env`` (every request gets its own mutable scope)."""
        path, _, query = env.path.partition("?")
        if env.params:
            extra = urlencode({k: v for k, v in env.params.items() if v is not None}, doseq=True)
            query = f"{query}&{extra}" if query and extra else (query or extra)
        headers = [(k.lower().encode(), v.encode()) for k, v in env.headers.items()]
        headers.extend(self._identity)
        scope = dict(self._static)
        scope.update(
            method=env.method,
            path=path,
            raw_path=path.encode(),
            query_string=query.encode(),
            headers=headers,
            state=dict(self._state),
            extensions={},
            app=self._app,
        )
        return scope

    async def call(self, env: Envelope) -> tuple[int, bytes]:
        """Run ``env`` through the app; return (HTTP status, raw JSON body, maybe empty)."""
        body = b"" if env.data is None else json.dumps(env.data).encode()
        answered: asyncio.Future[None] | None = None
        finished = False
        sent_body = False
        status = 500
        chunks: list[bytes] = []

        async def receive() -> Message:
            nonlocal sent_body, answered
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            # An app waiting for disconnect (a long-poll) learns it once we have the answer.
            if not finished:
                answered = asyncio.get_running_loop().create_future()
                await answered
            return {"type": "http.disconnect"}

        async def send(message: MutableMapping[str, Any]) -> None:
            nonlocal status, finished
            kind = message["type"]
            if kind == "http.response.start":
                status = int(message["status"])
            elif kind == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    finished = True
                    if answered is not None and not answered.done():
                        answered.set_result(None)

        try:
            await self._entry(self.scope(env), receive, send)
        finally:
            finished = True
            if answered is not None and not answered.done():
                answered.set_result(None)
        return status, chunks[0] if len(chunks) == 1 else b"".join(chunks)


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
