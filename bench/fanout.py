"""Fan-out bench: N subscribers of one topic, events produced by real API calls.

The node runs as ``aitbc serve`` in its own process; subscribers live in separate load
processes (raw aiohttp WebSocket / SSE clients, no compression); the producer is this
process. For each N and transport: N subscribers connect and subscribe to one
``account:`` topic, the node's RSS is read before and after (idle memory per
subscriber), then ``--events`` faucet credits are POSTed ``--interval`` s apart. Each
subscriber stamps each event on arrival with CLOCK_MONOTONIC (shared by all processes);
latency = arrival - start of the producing request (an upper bound on commit →
delivery). Checks that every subscriber got every event exactly once.

    .venv/bin/python bench/fanout.py --subscribers 100,1000 [--transports ws,sse]
        [--events 20] [--interval 0.5] [--load-procs 2] [--runs 1]
    # two workers: subscribers on one node process, the producer on the other
    .venv/bin/python bench/fanout.py --workers 2 \\
        --database-url postgresql://postgres@127.0.0.1:5432/bench \\
        --redis-url redis://127.0.0.1:6379/0

Targets (issue 10): 5,000 WS and 5,000 SSE subscribers, exactly once, p99 ≤ 250 ms,
producer p99 ≤ 50 ms, ≤ 30 KiB node RSS per idle subscriber.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp
import uvloop

sys.path.insert(0, str(Path(__file__).parent))
from _rt_common import ServedNode, now, percentile, raise_fd_limit

# -- load process ---------------------------------------------------------------------

#: Subscribers read only what they check (which credit an event is), not the whole JSON:
#: they share the machine's cores with the node, and the bench measures the node.
_AMOUNT = re.compile(r'"amount":"(\d+)"')
_AMOUNT_BYTES = re.compile(rb'"amount":"(\d+)"')


class _Count:
    """Counts up to ``target``; ``reached`` is set when it gets there."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.value = 0
        self.reached = asyncio.Event()
        if target <= 0:
            self.reached.set()

    def bump(self) -> None:
        self.value += 1
        if self.value >= self.target:
            self.reached.set()


@dataclass
class _Subscriber:
    ready: _Count
    complete: _Count
    events: int
    arrivals: dict[int, float] = field(default_factory=dict)
    duplicates: int = 0
    error: str = ""
    subscribed: bool = False

    def got(self, amount: int) -> None:
        if amount in self.arrivals:
            self.duplicates += 1
            return
        self.arrivals[amount] = now()
        if len(self.arrivals) == self.events:
            self.complete.bump()

    def up(self) -> None:
        self.subscribed = True
        self.ready.bump()

    def fail(self, error: str) -> None:
        if not self.error:
            self.error = error
            if not self.subscribed:
                self.ready.bump()  # counted, so the run does not wait for it forever
            if len(self.arrivals) < self.events:
                self.complete.bump()


async def _ws(session: aiohttp.ClientSession, url: str, key: str, topic: str, sub: _Subscriber,
              gate: asyncio.Semaphore) -> None:  # fmt: skip
    async with gate:
        ws = await session.ws_connect(
            url.replace("http", "ws", 1) + "/v1/ws",
            headers={"X-API-Key": key},
            autoping=True,
            max_msg_size=0,
        )
        await ws.send_str(json.dumps({"id": "s", "method": "subscribe", "path": topic}))
        while True:
            reply = json.loads((await ws.receive()).data)
            if reply.get("id") == "s":
                if reply.get("status") != 200:
                    raise RuntimeError(f"subscribe refused: {reply}")
                break
    sub.up()
    async for message in ws:
        text = message.data
        if text.startswith('{"subscription_id"'):
            found = _AMOUNT.search(text)
            if found is None:
                sub.fail(f"not an event: {text[:200]}")  # e.g. a 410 stream_gap
            else:
                sub.got(int(found.group(1)))
        elif '"type":"ping"' in text:
            await ws.send_str('{"type":"pong"}')
    sub.fail(f"closed {ws.close_code}")


async def _sse(session: aiohttp.ClientSession, url: str, key: str, topic: str, sub: _Subscriber,
               gate: asyncio.Semaphore) -> None:  # fmt: skip
    async with gate:
        resp = await session.get(
            url + "/v1/events", params={"topics": topic}, headers={"X-API-Key": key}
        )
        if resp.status != 200:
            raise RuntimeError(f"SSE refused: HTTP {resp.status}")
        buffer = await resp.content.readuntil(b"\n\n")  # the "subscribed" hello
    sub.up()
    buffer = b""
    async for chunk in resp.content.iter_any():
        buffer += chunk
        while b"\n\n" in buffer:
            raw, buffer = buffer.split(b"\n\n", 1)
            for line in raw.split(b"\n"):
                if line.startswith(b"data: "):
                    found = _AMOUNT_BYTES.search(line)
                    if found is not None and b'"seq":' in line:
                        sub.got(int(found.group(1)))
                    elif b'"error"' in line:
                        sub.fail(line[6:206].decode())
    sub.fail("stream ended")


async def _load(conn: Connection, transport: str, url: str, key: str, topic: str,
                count: int, events: int) -> None:  # fmt: skip
    ready, complete = _Count(count), _Count(count)
    subs = [_Subscriber(ready, complete, events) for _ in range(count)]
    gate = asyncio.Semaphore(64)  # concurrent handshakes
    run = _ws if transport == "ws" else _sse
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout()) as s:

        async def guarded(sub: _Subscriber) -> None:
            try:
                await run(s, url, key, topic, sub, gate)
            except Exception as exc:  # recorded: a subscriber that failed is a failed check
                sub.fail(f"{type(exc).__name__}: {exc}")

        tasks = [asyncio.create_task(guarded(sub)) for sub in subs]
        await ready.reached.wait()
        conn.send(("ready", sum(sub.subscribed for sub in subs)))
        cpu_start = time.process_time()
        deadline = await asyncio.get_running_loop().run_in_executor(None, conn.recv)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(0.0, deadline - now())):
                await complete.reached.wait()
        cpu = time.process_time() - cpu_start
        conn.send(("done", [(sub.arrivals, sub.duplicates, sub.error) for sub in subs], cpu))
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _load_main(conn: Connection, *args: Any) -> None:
    raise_fd_limit()
    # uvloop, as the node runs: the subscribers' side should cost as little CPU as it can,
    # since it shares the machine's cores with the node it measures.
    uvloop.run(_load(conn, *args))


# -- one measurement --------------------------------------------------------------------


@dataclass
class Result:
    transport: str
    subscribers: int
    latencies: list[float]
    producer: list[float]
    missing: int
    duplicates: int
    errors: list[str]
    rss_per_sub: float
    cpu_ms_per_delivery: float
    load_cpu_ms_per_delivery: float


async def measure(sub_node: ServedNode, pub_node: ServedNode, transport: str, n: int,
                  args: argparse.Namespace) -> Result:  # fmt: skip
    async with aiohttp.ClientSession() as http:
        topic_owner, key = await sub_node.client(http, f"fanout-{transport}-{n}")
        topic = f"account:{topic_owner}"
        # Warm-up: the code paths (and the pools) see a few requests first.
        for _ in range(5):
            await pub_node.admin_post(
                http, "/v1/admin/faucet", {"account_id": topic_owner, "amount": "1000"}
            )
        await asyncio.sleep(0.5)
        rss_before = sub_node.rss_bytes()
        ctx = mp.get_context("spawn")
        procs, pipes = [], []
        share = [n // args.load_procs + (i < n % args.load_procs) for i in range(args.load_procs)]
        for count in share:
            parent, child = ctx.Pipe()
            proc = ctx.Process(
                target=_load_main,
                args=(child, transport, sub_node.url, key, topic, count, args.events),
            )
            proc.start()
            procs.append(proc)
            pipes.append(parent)
        for pipe in pipes:
            await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
        await asyncio.sleep(2.0)  # idle: let allocations settle before reading RSS
        rss_idle = sub_node.rss_bytes()
        cpu_before = sub_node.cpu_seconds() + (
            pub_node.cpu_seconds() if pub_node is not sub_node else 0.0
        )
        sent: dict[int, float] = {}
        producer: list[float] = []
        start = now()
        for k in range(1, args.events + 1):
            await asyncio.sleep(max(0.0, start + (k - 1) * args.interval - now()))
            sent[k] = now()
            await pub_node.admin_post(
                http, "/v1/admin/faucet", {"account_id": topic_owner, "amount": str(k)}
            )
            producer.append(now() - sent[k])
        deadline = now() + args.drain
        for pipe in pipes:
            pipe.send(deadline)
        results: list[tuple[dict[int, float], int, str]] = []
        load_cpu = 0.0
        for pipe in pipes:
            _, part, cpu_seconds = await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
            results += part
            load_cpu += cpu_seconds
        cpu = sub_node.cpu_seconds() + (pub_node.cpu_seconds() if pub_node is not sub_node else 0.0)
        for proc in procs:
            proc.join(30)
    latencies = [
        t - sent[k] for arrivals, _, _ in results for k, t in arrivals.items() if k in sent
    ]
    delivered = sum(len(a) for a, _, _ in results)
    missing = sum(1 for a, _, _ in results for k in sent if k not in a)
    return Result(
        transport,
        n,
        latencies,
        producer,
        missing,
        sum(d for _, d, _ in results),
        [e for _, _, e in results if e],
        (rss_idle - rss_before) / n,
        (cpu - cpu_before) * 1000 / max(1, delivered),
        load_cpu * 1000 / max(1, delivered),
    )


def _report(results: list[Result]) -> None:
    first = results[0]
    lat = [statistics.median(percentile(r.latencies, q) for r in results) for q in (0.5, 0.99)]
    worst = max(max(r.latencies, default=float("nan")) for r in results)
    prod = statistics.median(percentile(r.producer, 0.99) for r in results)
    rss = statistics.median(r.rss_per_sub for r in results) / 1024
    cpu = statistics.median(r.cpu_ms_per_delivery for r in results)
    load_cpu = statistics.median(r.load_cpu_ms_per_delivery for r in results)
    missing = sum(r.missing for r in results)
    dups = sum(r.duplicates for r in results)
    errors = sum(len(r.errors) for r in results)
    once = "yes" if not (missing or dups) else f"NO (missing {missing}, duplicates {dups})"
    print(
        f"{first.transport:>3} N={first.subscribers:>5}  latency p50 {lat[0] * 1000:7.1f} ms"
        f"  p99 {lat[1] * 1000:7.1f} ms  max {worst * 1000:7.1f} ms  exactly-once {once}"
        f"  producer p99 {prod * 1000:6.1f} ms  idle RSS/sub {rss:5.1f} KiB"
        f"  node CPU/delivery {cpu:.3f} ms (subscribers' {load_cpu:.3f})  errors {errors}",
        flush=True,
    )
    for r in results:
        for error in sorted(set(r.errors))[:3]:
            print(f"      e.g. {error}")


async def _nodes(args: argparse.Namespace) -> tuple[ServedNode, ServedNode]:
    """Fresh node process(es): (where subscribers connect, where the producer posts)."""
    if args.workers == 1:
        node = await ServedNode(database_url=args.database_url).start()
        return node, node
    if not (args.database_url and args.redis_url):
        sys.exit("--workers 2 needs --database-url (PostgreSQL) and --redis-url")
    sub_node = ServedNode(database_url=args.database_url, redis_url=args.redis_url)
    await sub_node.start()  # one after the other: the first migrates
    pub_node = ServedNode(
        database_url=args.database_url, redis_url=args.redis_url, admin_key=sub_node.admin_key
    )
    try:
        await pub_node.start()
    except BaseException:
        sub_node.stop()
        raise
    return sub_node, pub_node


async def main(args: argparse.Namespace) -> None:
    hard = raise_fd_limit()
    ns = [int(x) for x in args.subscribers.split(",")]
    transports = args.transports.split(",")
    if max(ns) * 1.1 + 200 > hard:
        sys.exit(f"open-file hard limit {hard} is too low for {max(ns)} subscribers")
    where = "subscribers on one, producer on the other" if args.workers == 2 else "one process"
    print(
        f"fan-out: {args.events} events {args.interval}s apart, {args.workers} worker(s)"
        f" ({where}), {args.load_procs} load processes, runs={args.runs},"
        " a fresh node per measurement",
        flush=True,
    )
    for n in ns:
        per_transport: dict[str, list[Result]] = {t: [] for t in transports}
        for run in range(args.runs):
            order = transports if run % 2 == 0 else transports[::-1]  # alternate
            for transport in order:
                sub_node, pub_node = await _nodes(args)
                try:
                    result = await measure(sub_node, pub_node, transport, n, args)
                finally:
                    sub_node.stop()
                    if pub_node is not sub_node:
                        pub_node.stop()
                per_transport[transport].append(result)
        for transport in transports:
            _report(per_transport[transport])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", default="100,1000,5000")
    parser.add_argument("--transports", default="ws,sse")
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--drain", type=float, default=15.0, help="seconds to wait after")
    parser.add_argument("--load-procs", type=int, default=2)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--workers", type=int, choices=(1, 2), default=1)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--redis-url", default=None)
    asyncio.run(main(parser.parse_args()))
