"""Requests per second through HTTPTransport vs raw aiohttp vs httpx, one node endpoint.

Starts an embedded node (SQLite) in a child process, then in this process runs the same
workload with each client: N requests of ``GET <path>`` at concurrency C over one
pooled client each, decoding the JSON answer. Rounds are interleaved (aiohttp, ours,
httpx, aiohttp, ...) so machine noise hits every client alike; the best round of each
counts. Prints requests/s and the ratio to raw aiohttp.

    python bench/transport_http.py [--requests 2000] [--concurrency 50] [--rounds 3]
                                   [--path /v1/info] [--server node|minimal]

On a small machine the node itself is the bottleneck, which hides client overhead;
``--server minimal`` serves the same JSON from a bare aiohttp app to expose it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import httpx

from aitbc.transports.http import HTTPTransport

Fetch = Callable[[], Awaitable[Any]]
Client = tuple[Fetch, Callable[[], Awaitable[None]]]


async def _until_stdin_closes() -> None:
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


async def _serve_node() -> None:
    from aitbc.node.embedded import run_node

    async with run_node(chain_id=1) as node:
        print(node.url, flush=True)
        await _until_stdin_closes()


async def _serve_minimal() -> None:
    from aiohttp import web

    body = json.dumps({"chain_id": 1, "version": "bench", "signing_keys": []})
    app = web.Application()
    app.router.add_get("/{tail:.*}", lambda _: _respond(body))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    print(f"http://{host}:{port}", flush=True)
    await _until_stdin_closes()
    await runner.cleanup()


async def _respond(body: str) -> Any:
    from aiohttp import web

    return web.Response(text=body, content_type="application/json")


def serve_forever(kind: str) -> None:
    """Child process: run the server, print its URL, stop when stdin closes."""
    asyncio.run(_serve_node() if kind == "node" else _serve_minimal())


async def ours(url: str, path: str, c: int) -> Client:
    t = HTTPTransport({"base_url": url, "limit": c, "limit_per_host": c})
    await t.connect()
    return (lambda: t.request("GET", path)), t.disconnect


async def raw_aiohttp(url: str, path: str, c: int) -> Client:
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=c, limit_per_host=c))

    async def fetch() -> Any:
        async with session.get(url + path) as resp:
            resp.raise_for_status()
            return json.loads(await resp.read())

    return fetch, session.close


async def raw_httpx(url: str, path: str, c: int) -> Client:
    client = httpx.AsyncClient(limits=httpx.Limits(max_connections=c))

    async def fetch() -> Any:
        resp = await client.get(url + path)
        resp.raise_for_status()
        return resp.json()

    return fetch, client.aclose


async def run_round(fetch: Fetch, n: int, c: int) -> float:
    """Requests/s for ``n`` requests by ``c`` workers sharing one client."""
    remaining = n

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await fetch()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(c)))
    return n / (time.perf_counter() - start)


async def bench(url: str, path: str, n: int, c: int, rounds: int) -> dict[str, float]:
    makers = {"raw aiohttp": raw_aiohttp, "HTTPTransport": ours, "httpx": raw_httpx}
    clients = {name: await make(url, path, c) for name, make in makers.items()}
    best = dict.fromkeys(makers, 0.0)
    try:
        for fetch, _ in clients.values():
            await run_round(fetch, c * 4, c)  # warm the pools and the server
        for _ in range(rounds):
            for name, (fetch, _) in clients.items():
                best[name] = max(best[name], await run_round(fetch, n, c))
    finally:
        for _, close in clients.values():
            await close()
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--path", default="/v1/info")
    parser.add_argument("--server", choices=["node", "minimal"], default="node")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_forever(args.server)
        return
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--server", args.server],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        url = child.stdout.readline().strip()
        if not url.startswith("http"):
            raise SystemExit("the node did not start")
        best = asyncio.run(bench(url, args.path, args.requests, args.concurrency, args.rounds))
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=30)
    base = best["raw aiohttp"]
    print(
        f"{args.server} GET {args.path}  N={args.requests} c={args.concurrency}"
        f"  best of {args.rounds} rounds"
    )
    for name, rps in best.items():
        print(f"  {name:<14} {rps:8.0f} req/s   {rps / base:5.2f}x raw aiohttp")


if __name__ == "__main__":
    main()
