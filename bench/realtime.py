"""Realtime bench: WebSocket vs HTTP for the same authenticated calls, and event latency.

The node runs as ``aitbc serve`` in its own process (fresh SQLite file); the load comes
from this process.

1. Requests: the same calls (``--paths``, by default ``GET /v1/me`` and
   ``GET /v1/wallet/balance`` in turn)
   ``--requests`` times with ``--concurrency`` in flight, over one WebSocket (multiplexed
   request envelopes) and over a keep-alive HTTP connection pool (raw aiohttp on both, so
   the client costs the same little). After a warm-up, ``--rounds`` rounds alternate the
   order (ws, http / http, ws, ...); medians are reported, with the node's CPU per call
   read from /proc, and the WS/HTTP ratios.
2. Event latency: an SDK ``WebSocketTransport`` subscription and an SDK SSE stream watch
   one account while ``--events`` faucet credits are POSTed (spaced, so this measures
   latency, not queueing). Latency = iterator arrival - start of the producing request
   (CLOCK_MONOTONIC; an upper bound on commit → iterator, since it includes the request's
   own time up to its commit).

    .venv/bin/python bench/realtime.py [--requests 2000] [--concurrency 32] [--rounds 5]
                                       [--events 100] [--paths /v1/me]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

from aitbc.transports.http import HTTPTransport
from aitbc.transports.websocket import WebSocketTransport

sys.path.insert(0, str(Path(__file__).parent))
from _rt_common import ServedNode, now, percentile

PATHS = ["/v1/me", "/v1/wallet/balance"]
Call = Callable[[int], Awaitable[None]]


async def _drive(call: Call, requests: int, concurrency: int) -> float:
    """Run ``call(i)`` for i < requests with ``concurrency`` in flight; return seconds."""
    todo = iter(range(requests))

    async def worker() -> None:
        for i in todo:
            await call(i)

    started = now()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return now() - started


class WSClient:
    """One WebSocket, many requests in flight, matched by id."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.ids = itertools.count()
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self.ws:
            reply = json.loads(message.data)
            future = self.pending.pop(str(reply.get("id")), None)
            if future is not None:
                future.set_result(reply)

    async def call(self, i: int) -> None:
        rid = str(next(self.ids))
        future = asyncio.get_running_loop().create_future()
        self.pending[rid] = future
        path = PATHS[i % len(PATHS)]
        await self.ws.send_str(json.dumps({"id": rid, "method": "GET", "path": path}))
        reply = await future
        if reply.get("status") != 200:
            raise RuntimeError(f"WS call failed: {reply}")


async def _requests(node: ServedNode, key: str, args: argparse.Namespace) -> dict[str, Any]:
    headers = {"X-API-Key": key}
    connector = aiohttp.TCPConnector(limit=args.concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:
        ws = WSClient(await http.ws_connect(node.url.replace("http", "ws") + "/v1/ws",
                                            headers=headers))  # fmt: skip

        async def over_http(i: int) -> None:
            async with http.get(node.url + PATHS[i % len(PATHS)], headers=headers) as resp:
                await resp.read()
                if resp.status != 200:
                    raise RuntimeError(f"HTTP call failed: {resp.status}")

        calls: dict[str, Call] = {"ws": ws.call, "http": over_http}
        for call in calls.values():  # warm-up
            await _drive(call, 300, args.concurrency)
        rates: dict[str, list[float]] = {"ws": [], "http": []}
        cpu: dict[str, list[float]] = {"ws": [], "http": []}
        for run in range(args.rounds):
            order = ("ws", "http") if run % 2 == 0 else ("http", "ws")
            for name in order:
                before = node.cpu_seconds()
                seconds = await _drive(calls[name], args.requests, args.concurrency)
                cpu[name].append((node.cpu_seconds() - before) * 1000 / args.requests)
                rates[name].append(args.requests / seconds)
        ws.reader.cancel()
        await ws.ws.close()
    return {name: (statistics.median(rates[name]), statistics.median(cpu[name])) for name in rates}


async def _collect(stream: AsyncIterator[dict[str, Any]], count: int) -> dict[int, float]:
    arrivals: dict[int, float] = {}
    async for event in stream:
        arrivals[int(event["data"]["amount"])] = now()
        if len(arrivals) == count:
            break
    return arrivals


async def _latency(node: ServedNode, account: str, key: str, events: int) -> dict[str, Any]:
    topic = f"account:{account}"
    ws = WebSocketTransport({"ws_url": node.url.replace("http", "ws") + "/v1/ws", "api_key": key})
    sse = HTTPTransport({"base_url": node.url, "default_headers": {"X-API-Key": key}})
    try:
        ws_stream = ws.stream("subscribe", topic)
        await ws_stream.start()
        sse_stream = sse.stream("subscribe", topic)
        consumers = [
            asyncio.ensure_future(_collect(ws_stream, events)),
            asyncio.ensure_future(_collect(sse_stream, events)),
        ]
        await asyncio.sleep(1.0)  # let the SSE stream connect (it opens on iteration)
        sent: dict[int, float] = {}
        async with aiohttp.ClientSession() as http:
            for k in range(1, events + 1):
                sent[k] = now()
                await node.admin_post(
                    http, "/v1/admin/faucet", {"account_id": account, "amount": str(k)}
                )
                await asyncio.sleep(0.02)
        ws_arrivals, sse_arrivals = await asyncio.wait_for(asyncio.gather(*consumers), 120)
    finally:
        await ws.disconnect()
        await sse.disconnect()
    return {
        name: [t - sent[k] for k, t in arrivals.items()]
        for name, arrivals in (("ws", ws_arrivals), ("sse", sse_arrivals))
    }


async def main(args: argparse.Namespace) -> None:
    PATHS[:] = args.paths.split(",")
    node = await ServedNode().start()
    try:
        async with aiohttp.ClientSession() as http:
            account, key = await node.client(http, "bench")
            await node.admin_post(http, "/v1/admin/faucet", {"account_id": account, "amount": "1"})
        reqs = await _requests(node, key, args)
        latency = await _latency(node, account, key, args.events)
    finally:
        node.stop()
    print(
        f"requests: {args.requests} per round x {args.rounds} rounds (alternating),"
        f" concurrency {args.concurrency}, medians; node in its own process"
    )
    for name, label in (("ws", "WebSocket"), ("http", "HTTP")):
        rate, cpu = reqs[name]
        print(f"  {label:9} {rate:8.0f} req/s   node CPU {cpu:6.3f} ms/call")
    print(
        f"  ratio ws/http: {reqs['ws'][0] / reqs['http'][0]:.2f}x req/s,"
        f" {reqs['ws'][1] / reqs['http'][1]:.2f}x CPU per call"
    )
    print(f"event latency, producing request start -> SDK iterator, {args.events} events:")
    for name in ("ws", "sse"):
        samples = latency[name]
        print(
            f"  {name.upper():4} p50 {percentile(samples, 0.5) * 1000:7.2f} ms"
            f"   p99 {percentile(samples, 0.99) * 1000:7.2f} ms"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--paths", default=",".join(PATHS), help="GET paths, used in turn")
    asyncio.run(main(parser.parse_args()))
