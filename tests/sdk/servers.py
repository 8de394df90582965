"""Small real HTTP servers for transport tests: a scriptable stand-in node and a flaky proxy.

Both run aiohttp.web on an ephemeral loopback port inside the test's event loop.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from aitbc.core.envelope import error_envelope

INFO = {"chain_id": 7, "version": "test", "coordinator_id": "coord_test", "signing_keys": []}


def envelope(status: int, code: str, message: str = "", **headers: str) -> web.Response:
    body = error_envelope(code, message or code, "req_test", [{"why": code}])
    return web.json_response(body, status=status, headers=headers)


@dataclass
class Recorder:
    """What the scripted node saw, for assertions."""

    hits: dict[str, int] = field(default_factory=dict)
    headers: list[dict[str, str]] = field(default_factory=list)
    script: list[web.StreamResponse] = field(default_factory=list)  # answers to pop first

    def hit(self, request: web.Request) -> int:
        self.hits[request.path] = self.hits.get(request.path, 0) + 1
        self.headers.append(dict(request.headers))
        return self.hits[request.path]


def scripted_node_app(rec: Recorder) -> web.Application:
    """A stand-in node: /v1/info, echo, slow/hanging routes and scripted failures."""

    async def info(request: web.Request) -> web.Response:
        rec.hit(request)
        return web.json_response(INFO)

    async def echo(request: web.Request) -> web.StreamResponse:
        rec.hit(request)
        if rec.script:
            return rec.script.pop(0)
        body = await request.json() if request.can_read_body else None
        return web.json_response(
            {"method": request.method, "query": dict(request.query), "body": body},
            headers={"X-Request-ID": "req_echo"},
        )

    async def slow(request: web.Request) -> web.Response:
        rec.hit(request)
        await asyncio.sleep(float(request.query.get("s", "0.5")))
        return web.json_response({"slow": True})

    async def hang(request: web.Request) -> web.Response:
        rec.hit(request)
        await asyncio.Event().wait()  # until the client gives up and the server cancels
        raise AssertionError("unreachable")

    async def raw(request: web.Request) -> web.Response:
        kind = request.match_info["kind"]
        table = {
            "text-error": web.Response(status=502, text="<html>bad gateway</html>"),
            "not-json": web.Response(status=200, text="hello"),
            "json-list": web.json_response([1, 2]),
            "empty": web.Response(status=204),
            "envelope": envelope(409, "job_not_cancelable", "too late"),
        }
        return table[kind]

    async def not_found(request: web.Request) -> web.StreamResponse:
        return envelope(404, "not_found", f"no route {request.path}")

    app = web.Application(client_max_size=8 << 20)  # room for the large-body test
    app.router.add_get("/v1/info", info)
    app.router.add_route("*", "/echo", echo)
    app.router.add_get("/slow", slow)
    app.router.add_get("/hang", hang)
    app.router.add_get("/raw/{kind}", raw)
    app.router.add_route("*", "/{tail:.*}", not_found)
    return app


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """Run ``app`` on 127.0.0.1:<free port>; yields its base URL."""
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


@dataclass
class Faults:
    """Failures the flaky proxy injects, per upstream route, before passing requests on."""

    drop_before: int = 0  # close the socket before forwarding (request never reaches upstream)
    drop_after: int = 0  # forward, then close the socket without answering
    status_503: int = 0
    status_429: int = 0
    retry_after: str = "0"
    seen: int = 0
    forwarded: list[tuple[str, str, str | None]] = field(default_factory=list)


def flaky_proxy_app(upstream: str, faults: Faults) -> web.Application:
    """A reverse proxy to ``upstream`` that fails the first requests as ``faults`` says.

    Failure order per request: answer 503, answer 429, drop before forwarding, forward
    then drop (the node acted, the client never heard). Counters run down as used.
    """
    session_holder: dict[str, aiohttp.ClientSession] = {}

    async def on_startup(app: web.Application) -> None:
        session_holder["s"] = aiohttp.ClientSession()

    async def on_cleanup(app: web.Application) -> None:
        await session_holder["s"].close()

    async def forward(request: web.Request) -> web.StreamResponse:
        faults.seen += 1
        body = await request.read()
        if faults.status_503:
            faults.status_503 -= 1
            return envelope(503, "unavailable", **{"Retry-After": faults.retry_after})
        if faults.status_429:
            faults.status_429 -= 1
            return envelope(429, "rate_limited", **{"Retry-After": faults.retry_after})
        if faults.drop_before:
            faults.drop_before -= 1
            return _drop(request)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        key = request.headers.get("Idempotency-Key")
        faults.forwarded.append((request.method, request.path_qs, key))
        async with session_holder["s"].request(
            request.method, upstream + request.path_qs, data=body, headers=headers
        ) as up:
            payload = await up.read()
            status, up_headers = up.status, dict(up.headers)
        if faults.drop_after:
            faults.drop_after -= 1
            return _drop(request)
        keep = {k: v for k, v in up_headers.items() if k.lower() not in _HOP}
        return web.Response(status=status, body=payload, headers=keep)

    app = web.Application()
    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    app.router.add_route("*", "/{tail:.*}", forward)
    return app


_HOP = {
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "server",
    "date",
    "content-encoding",
}


def _drop(request: web.Request) -> web.StreamResponse:
    transport = request.transport
    if transport is not None:
        transport.close()  # the client sees the connection die mid-exchange
    raise asyncio.CancelledError  # aiohttp's documented way to abandon a handler quietly


def dumps(value: Any) -> bytes:
    return json.dumps(value).encode()
