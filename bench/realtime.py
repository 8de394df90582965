"""Realtime bench: WebSocket vs HTTP request throughput, and event latency over WS and SSE.

One run, one embedded node (SQLite) served from its own thread and event loop:

1. Requests/s: the same calls (``GET /v1/me`` and ``GET /v1/wallet/balance``, alternating)
   N times at concurrency C, over one WebSocketTransport and over one HTTPTransport.
   Rounds alternate (ws, http, ws, http, ...) so machine noise hits both; best round counts.
2. Event latency: a WS subscriber and an SSE subscriber watch one account while the node
   credits it E times (spaced, so this measures latency, not queueing). A post-commit
   listener on the node stamps each event; each iterator stamps it on arrival. Both
   stamps come from one monotonic clock (same process), so latency = arrival - commit.

    .venv/bin/python bench/realtime.py [--requests 1000] [--concurrency 50] [--rounds 2]
                                       [--events 200]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import threading
import time
from collections.abc import AsyncIterator, Awaitable
from concurrent.futures import Future
from typing import Any

from aitbc.node.embedded import EmbeddedNode, run_node
from aitbc.node.events import EventRecord
from aitbc.transports.base import Transport
from aitbc.transports.http import HTTPTransport
from aitbc.transports.websocket import WebSocketTransport


class NodeThread:
    """An embedded node on its own loop in a daemon thread (so client and node do not
    share one event loop)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.ready: Future[EmbeddedNode] = Future()
        self.stop = asyncio.Event()
        self.commits: dict[tuple[str, int], float] = {}
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._main(),))

    async def _main(self) -> None:
        async with run_node(chain_id=1) as node:
            node.node.event_listeners.append(self._stamp)
            self.ready.set_result(node)
            await self.stop.wait()

    async def _stamp(self, records: list[EventRecord]) -> None:
        now = time.perf_counter()
        for record in records:
            self.commits[(record.topic, record.seq)] = now

    def call(self, coro: Awaitable[Any]) -> Any:
        """Run ``coro`` on the node's loop and wait for it (from the client loop)."""
        return asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))  # type: ignore[arg-type]

    def start(self) -> EmbeddedNode:
        self.thread.start()
        return self.ready.result(timeout=60)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(timeout=30)


async def _throughput(transport: Transport, requests: int, concurrency: int) -> float:
    paths = ("/v1/me", "/v1/wallet/balance")
    todo = iter(range(requests))

    async def worker() -> None:
        for i in todo:
            await transport.request("GET", paths[i % 2])

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return requests / (time.perf_counter() - started)


async def _collect(
    stream: AsyncIterator[dict[str, Any]], count: int, arrivals: dict[int, float]
) -> None:
    async for event in stream:
        arrivals[event["seq"]] = time.perf_counter()
        if len(arrivals) == count:
            return


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p99 * 1000


async def _latency(
    host: NodeThread, ws: Transport, http: Transport, account: str, events: int
) -> dict[str, tuple[float, float]]:
    topic = f"account:{account}"
    ws_arrivals: dict[int, float] = {}
    sse_arrivals: dict[int, float] = {}
    ws_stream = ws.stream("subscribe", topic)
    sse_stream = http.stream("subscribe", topic)
    await ws_stream.start()  # type: ignore[attr-defined]
    consumers = [
        asyncio.ensure_future(_collect(ws_stream, events, ws_arrivals)),
        asyncio.ensure_future(_collect(sse_stream, events, sse_arrivals)),
    ]
    await asyncio.sleep(0.5)  # let the SSE stream connect
    node: EmbeddedNode = host.ready.result()
    for _ in range(events):
        await host.call(node.faucet(account, 1))
        await asyncio.sleep(0.005)
    await asyncio.wait_for(asyncio.gather(*consumers), 60)
    await sse_stream.aclose()  # type: ignore[attr-defined]
    await ws_stream.aclose()  # type: ignore[attr-defined]
    result = {}
    for name, arrivals in (("ws", ws_arrivals), ("sse", sse_arrivals)):
        result[name] = _percentiles([t - host.commits[(topic, s)] for s, t in arrivals.items()])
    return result


async def _run(args: argparse.Namespace, host: NodeThread) -> None:
    node: EmbeddedNode = host.ready.result()
    account, key = await host.call(node.create_principal("client", "bench"))
    ws = WebSocketTransport({"ws_url": node.ws_url, "api_key": key})
    http = HTTPTransport(
        {
            "base_url": node.url,
            "default_headers": {"X-API-Key": key},
            "limit_per_host": args.concurrency,
        }
    )
    try:
        await asyncio.gather(ws.connect(), http.connect())
        await _throughput(ws, 50, 10)  # warm both up
        await _throughput(http, 50, 10)
        best = {"ws": 0.0, "http": 0.0}
        for _ in range(args.rounds):
            for name, transport in (("ws", ws), ("http", http)):
                rate = await _throughput(transport, args.requests, args.concurrency)
                best[name] = max(best[name], rate)
        latency = await _latency(host, ws, http, account, args.events)
    finally:
        await ws.disconnect()
        await http.disconnect()
    _report(args, best, latency)


def _report(
    args: argparse.Namespace, best: dict[str, float], latency: dict[str, tuple[float, float]]
) -> None:
    print(f"requests: {args.requests} x {args.rounds} rounds, concurrency {args.concurrency}")
    print(f"  WebSocket  {best['ws']:8.0f} req/s")
    print(f"  HTTP       {best['http']:8.0f} req/s")
    print(f"  ratio ws/http = {best['ws'] / best['http']:.2f}")
    print(f"event latency, commit -> iterator, {args.events} events:")
    for name in ("ws", "sse"):
        p50, p99 = latency[name]
        print(f"  {name.upper():4} p50 {p50:7.2f} ms   p99 {p99:7.2f} ms")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--events", type=int, default=200)
    args = parser.parse_args(argv)
    host = NodeThread()
    host.start()
    try:
        asyncio.run(_run(args, host))
    finally:
        host.close()


if __name__ == "__main__":
    main()
