"""Run a WebSocket request envelope through the node's own HTTP app, in process.

One implementation, two doors: a WS request becomes an ASGI ``http`` call into the same
app (middleware, auth, validation, services, error envelope), carrying the connection's
API key. Nothing is re-implemented, so REST and WS cannot drift apart. What is fixed per
connection (the scope's static parts, where the request enters the stack) is worked out
once by :class:`AppDoor`, so a WS call costs the server no more than the same HTTP call.
"""

from __future__ import annotations

import asyncio
import copy
import json
import weakref
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlencode

from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


#: What the router writes into a scope when it picks a route (FastAPI's own keys included).
_ROUTING_KEYS = ("route", "path_params", "endpoint", "router", "fastapi")
_MEMO_SIZE = 1024


class RouteMemo:
    """The app's router, remembering which route it picked for each (method, path).

    The first call for a (method, path) goes through the router; afterwards the routing
    result it left in the scope (route, path parameters, FastAPI's route context) is
    replayed and the *same* route handles the request, skipping FastAPI's scan of every
    route (a fifth of a cheap call's CPU). The node's routes are fixed once the app is
    built, and matching depends only on method and path, so the replay is the router's
    own answer. Only full matches of an API route are remembered (a path no route
    serves, or a method its route refuses, always goes through the router), in a
    bounded table; the route itself still answers 404 for a missing resource.
    """

    def __init__(self, router: ASGIApp) -> None:
        self.router = router
        self.picked: dict[tuple[str, str], dict[str, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = (scope["method"], scope["path"])
        picked = self.picked.get(key)
        if picked is None:
            await self.router(scope, receive, send)
            self._remember(key, scope)
            return
        scope.update(picked)
        scope["path_params"] = dict(picked["path_params"])
        scope["fastapi"] = dict(picked["fastapi"])
        await picked["route"].handle(scope, receive, send)

    def _remember(self, key: tuple[str, str], scope: Scope) -> None:
        route = scope.get("route")
        if not isinstance(route, APIRoute) or key[0] not in (route.methods or ()):
            return
        if not all(name in scope for name in _ROUTING_KEYS):
            return
        if len(self.picked) >= _MEMO_SIZE:
            del self.picked[next(iter(self.picked))]
        picked = {name: scope[name] for name in _ROUTING_KEYS}
        picked["path_params"] = dict(picked["path_params"])
        picked["fastapi"] = dict(picked["fastapi"])
        self.picked[key] = picked


_entries: weakref.WeakKeyDictionary[Any, ASGIApp] = weakref.WeakKeyDictionary()


def entry_layer(app: Any) -> ASGIApp:
    """Where a WS request enters ``app``: its middleware stack from the first user
    middleware (the node's request-context layer) inward, over a :class:`RouteMemo`.

    The layers above it (server-error page, exception telemetry, FastAPI's body limit)
    add nothing for an in-process call: the request-context layer already renders every
    unhandled error as the 500 envelope and enforces ``max_body_bytes``. Everything from
    it inward (request id, body limit, metrics, exception handlers, dependencies, the
    route) is the very stack, with the very handlers and metrics, that HTTP requests run
    through; the layers are shallow copies that differ only in what they call next.
    Worked out once per app.
    """
    entry = _entries.get(app)
    if entry is None:
        entry = _build_entry(app)
        if getattr(app, "middleware_stack", None) is not None:
            _entries[app] = entry
    return entry


def _build_entry(app: Any) -> ASGIApp:
    stack = getattr(app, "middleware_stack", None)
    user = getattr(app, "user_middleware", None)
    router = getattr(app, "router", None)
    if stack is None or not user or router is None:
        return cast(ASGIApp, app)  # not a started Starlette app: enter at the top
    layers: list[Any] = []
    layer: Any = stack
    while layer is not None and layer is not router:
        if layers or isinstance(layer, user[0].cls):
            layers.append(layer)
        layer = getattr(layer, "app", None)
    if layer is None or not layers:
        return cast(ASGIApp, app)  # an unexpected stack shape: the full app it is
    inner: ASGIApp = RouteMemo(router)
    for layer in reversed(layers):
        twin = copy.copy(layer)
        twin.app = inner
        inner = twin
    return inner


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
