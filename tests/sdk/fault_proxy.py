"""A fault-injecting reverse proxy for BOTH doors of a node: REST and WebSocket requests.

One :class:`Script` of faults applies to whichever door a request comes through, so the
retry conformance test drives every transport through the same faults. Faults fire on
"acting" requests only (not ``/v1/info``, subscriptions or heartbeats), in this order:

- ``status_503`` / ``status_429``: answer with that status and ``Retry-After`` (a REST
  header, or ``headers`` in a WebSocket answer frame) without forwarding;
- ``drop_before``: cut the client's connection before forwarding (the node never saw it);
- ``kill_after_received``: forward, then cut the client's connection at once, while
  the node is still working on the request (the proxy's own connection to the node
  stays open until the node answered: only the client's side is cut);
- ``drop_after``: forward, wait for the node's answer, then cut the connection instead of
  passing the answer on (the node acted, the client never heard).

``cut_handshake`` cuts the next new connection before anything is exchanged (the first
REST request of a connection, or a WebSocket upgrade).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import weakref
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from .servers import _HOP, envelope

_QUIET_PATHS = ("/v1/info",)
_QUIET_METHODS = ("SUBSCRIBE", "UNSUBSCRIBE", "PING", "AUTH")


@dataclass
class Script:
    status_503: int = 0
    status_429: int = 0
    drop_before: int = 0
    kill_after_received: int = 0
    drop_after: int = 0
    cut_handshake: int = 0
    retry_after: str = "1"
    forwarded: list[tuple[str, str, str | None]] = field(default_factory=list)

    def pending(self) -> int:
        return (
            self.status_503
            + self.status_429
            + self.drop_before
            + self.kill_after_received
            + self.drop_after
            + self.cut_handshake
        )

    def take(self, name: str) -> bool:
        if getattr(self, name) > 0:
            setattr(self, name, getattr(self, name) - 1)
            return True
        return False


def _cut(request: web.Request) -> None:
    if request.transport is not None:
        request.transport.abort()
    raise asyncio.CancelledError  # aiohttp's way to abandon a handler quietly


def fault_proxy_app(upstream: str, script: Script) -> web.Application:
    """A reverse proxy to the node at ``upstream`` (http://host:port) applying ``script``."""
    sessions: dict[str, aiohttp.ClientSession] = {}
    background: set[asyncio.Task[Any]] = set()

    async def on_startup(app: web.Application) -> None:
        sessions["s"] = aiohttp.ClientSession()

    async def on_cleanup(app: web.Application) -> None:
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        await sessions["s"].close()

    seen: weakref.WeakSet[Any] = weakref.WeakSet()

    def new_connection(request: web.Request) -> bool:
        fresh = request.transport not in seen
        seen.add(request.transport)
        return fresh

    async def rest(request: web.Request) -> web.StreamResponse:
        if new_connection(request) and script.take("cut_handshake"):
            _cut(request)
        body = await request.read()
        acting = request.path not in _QUIET_PATHS
        if acting and script.take("status_503"):
            return envelope(503, "unavailable", **{"Retry-After": script.retry_after})
        if acting and script.take("status_429"):
            return envelope(429, "rate_limited", **{"Retry-After": script.retry_after})
        if acting and script.take("drop_before"):
            _cut(request)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        script.forwarded.append(
            (request.method, request.path_qs, request.headers.get("Idempotency-Key"))
        )
        call = sessions["s"].request(
            request.method, upstream + request.path_qs, data=body, headers=headers
        )
        if acting and script.take("kill_after_received"):
            task = asyncio.ensure_future(_finish(call))
            background.add(task)
            task.add_done_callback(background.discard)
            await asyncio.sleep(0.05)  # let the request reach the node, then cut
            _cut(request)
        async with call as up:
            payload = await up.read()
            status, up_headers = up.status, dict(up.headers)
        if acting and script.take("drop_after"):
            _cut(request)
        keep = {k: v for k, v in up_headers.items() if k.lower() not in _HOP}
        return web.Response(status=status, body=payload, headers=keep)

    async def ws(request: web.Request) -> web.StreamResponse:
        if script.take("cut_handshake"):
            _cut(request)
        key = request.headers.get("X-API-Key", "")
        up = await sessions["s"].ws_connect(
            "ws" + upstream[len("http") :] + "/v1/ws", headers={"X-API-Key": key}
        )
        down = web.WebSocketResponse()
        await down.prepare(request)
        held: dict[str, asyncio.Future[str]] = {}
        pump = asyncio.ensure_future(_pump(up, down, held))
        try:
            async for msg in down:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    break
                if not await _ws_frame(msg.data, up, down, held, script, request):
                    break
        finally:
            pump.cancel()
            await asyncio.gather(pump, return_exceptions=True)
            await up.close()
        return down

    app = web.Application()
    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    app.router.add_get("/v1/ws", ws)
    app.router.add_route("*", "/{tail:.*}", rest)
    return app


async def _finish(call: Any) -> None:
    async with call as up:
        await up.read()


async def _pump(
    up: aiohttp.ClientWebSocketResponse,
    down: web.WebSocketResponse,
    held: dict[str, asyncio.Future[str]],
) -> None:
    """Node → client frames; an answer someone holds goes to its future instead."""
    async for msg in up:
        if msg.type != aiohttp.WSMsgType.TEXT:
            break
        frame = json.loads(msg.data)
        waiter = held.pop(str(frame.get("id")), None) if isinstance(frame, dict) else None
        if waiter is not None:
            waiter.set_result(msg.data)
            continue
        with contextlib.suppress(ConnectionError, RuntimeError):
            await down.send_str(msg.data)


async def _ws_frame(
    raw: str,
    up: aiohttp.ClientWebSocketResponse,
    down: web.WebSocketResponse,
    held: dict[str, asyncio.Future[str]],
    script: Script,
    request: web.Request,
) -> bool:
    """Apply the script to one client frame; False when the connection was cut."""
    frame = json.loads(raw)
    method = str(frame.get("method", "")).upper()
    acting = method not in _QUIET_METHODS and frame.get("path") not in _QUIET_PATHS
    if acting:
        for status, code in ((503, "unavailable"), (429, "rate_limited")):
            if script.take(f"status_{status}"):
                answer = {
                    "id": frame["id"],
                    "status": status,
                    "error": {"code": code, "message": code},
                    "headers": {"Retry-After": script.retry_after},
                }
                await down.send_str(json.dumps(answer))
                return True
        if script.take("drop_before"):
            _abort(request)
            return False
        script.forwarded.append((method, str(frame.get("path")), _idem(frame)))
    if acting and script.take("drop_after"):
        waiter: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        held[str(frame["id"])] = waiter
        await up.send_str(raw)
        await waiter  # the node answered; the client will never hear it
        _abort(request)
        return False
    if acting and script.take("kill_after_received"):
        # Cut the client while the node works; the node side stays open until it has
        # answered, as behind a load balancer (the node's own connection is not cut).
        waiter = asyncio.get_running_loop().create_future()
        held[str(frame["id"])] = waiter
        await up.send_str(raw)
        await asyncio.sleep(0.05)  # let the request reach the node, then cut
        _abort(request)
        await asyncio.wait_for(waiter, 30)
        return False
    await up.send_str(raw)
    return True


def _idem(frame: dict[str, Any]) -> str | None:
    headers = frame.get("headers") or {}
    return next((str(v) for k, v in headers.items() if k.lower() == "idempotency-key"), None)


def _abort(request: web.Request) -> None:
    if request.transport is not None:
        request.transport.abort()
