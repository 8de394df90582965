"""Client overhead: HTTPTransport (and AITBCClient.call) vs raw aiohttp vs httpx.

The server runs in its own process (``--server minimal``: a bare aiohttp app answering
one small JSON object, which exposes client overhead; ``--server node``: a real node on
SQLite). This process runs the same workload with each client: N requests of
``GET <path>`` by C workers sharing one pooled client, decoding the JSON answer, every
client with the same 30 s per-request timeout. After a warm-up of every client, each
round runs every client on N requests, cut into slices (``--slices``) that alternate
between the clients, in an order rotated every slice (so no client always goes first
or last): on a shared machine the load changes within a second, and slices a tenth of
a second long give every client the same mix of it. Medians are reported:

- requests/s (per round), and its ratio to raw aiohttp's: the median over every slice
  of the client's rate over the baseline's in the same rotation, next to it in time;
- client CPU per request (this process's user+system time from the OS,
  ``resource.getrusage``), per round, and its ratio to raw aiohttp's, per slice like
  the rate's: on a loaded machine the rate follows the scheduler, CPU much less;
- server CPU per request (the server process's utime+stime from ``/proc/<pid>/stat``),
  per round.

A full collection runs before every timed run, so no client pays for another's garbage.
The header line gives the load average, to judge how busy the machine was.

    python bench/transport_http.py [--server minimal|node] [--requests 1000]
                                   [--concurrency 32] [--rounds 9] [--slices 10]
                                   [--path /v1/info]
                                   [--clients "raw aiohttp,HTTPTransport,..."]

The last line gives quartiles of HTTPTransport's req/s ratios over slices (the spread).
httpx runs a tenth of the requests per slice, at least one per worker (it is ~10x
slower here; rates compare).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import httpx

from aitbc import AITBCClient
from aitbc.transports.http import HTTPTransport

Fetch = Callable[[], Awaitable[Any]]
Client = tuple[Fetch, Callable[[], Awaitable[None]]]
TIMEOUT = 30.0  # every client gets the same per-request deadline
BASELINE = "raw aiohttp"


# -- server (child process) ------------------------------------------------------------


async def _until_stdin_closes() -> None:
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


async def _serve_node() -> None:
    from aitbc.node.embedded import run_node

    async with run_node(chain_id=1) as node:
        print(node.url, flush=True)
        await _until_stdin_closes()


async def _serve_minimal() -> None:
    from aiohttp import web

    body = json.dumps({"chain_id": 1, "version": "bench", "coordinator_id": "c",
                       "signing_keys": []})  # fmt: skip

    async def respond(_: web.Request) -> web.Response:
        return web.Response(text=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/{tail:.*}", respond)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    print(f"http://{host}:{port}", flush=True)
    await _until_stdin_closes()
    await runner.cleanup()


def serve_forever(kind: str) -> None:
    """Child process: run the server, print its URL, stop when stdin closes."""
    asyncio.run(_serve_node() if kind == "node" else _serve_minimal())


def process_cpu(pid: int) -> float:
    """utime + stime of process ``pid`` in seconds, from /proc (Linux)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    """This process's user + system CPU seconds, from the OS (µs resolution)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# -- clients ---------------------------------------------------------------------------


async def http_transport(url: str, path: str, c: int) -> Client:
    t = HTTPTransport({"base_url": url, "limit": c, "limit_per_host": c, "timeout": TIMEOUT})
    await t.connect()
    return (lambda: t.request("GET", path)), t.disconnect


async def aitbc_client(url: str, path: str, c: int) -> Client:
    client = AITBCClient({"base_url": url, "limit": c, "limit_per_host": c, "timeout": TIMEOUT})
    await client.connect()
    return (lambda: client.call("GET", path)), client.disconnect


async def raw_aiohttp(url: str, path: str, c: int) -> Client:
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=c, limit_per_host=c),
        timeout=aiohttp.ClientTimeout(total=TIMEOUT),
    )

    async def fetch() -> Any:
        async with session.get(url + path) as resp:
            resp.raise_for_status()
            return json.loads(await resp.read())

    return fetch, session.close


async def raw_httpx(url: str, path: str, c: int) -> Client:
    client = httpx.AsyncClient(
        limits=httpx.Limits(max_connections=c, max_keepalive_connections=c),
        timeout=httpx.Timeout(TIMEOUT),
    )

    async def fetch() -> Any:
        resp = await client.get(url + path)
        resp.raise_for_status()
        return resp.json()

    return fetch, client.aclose


MAKERS = {
    BASELINE: raw_aiohttp,
    "HTTPTransport": http_transport,
    "AITBCClient.call": aitbc_client,
    "httpx": raw_httpx,
}


# -- measurement -----------------------------------------------------------------------


@dataclass
class Samples:
    rps: list[float] = field(default_factory=list)
    ratio: list[float] = field(default_factory=list)
    client_us: list[float] = field(default_factory=list)
    cpu_ratio: list[float] = field(default_factory=list)
    server_us: list[float] = field(default_factory=list)


@dataclass
class Totals:
    """One client's requests, wall time and CPU in one slice, or summed over a round."""

    requests: int = 0
    wall: float = 0.0
    client_cpu: float = 0.0
    server_cpu: float = 0.0

    def add(self, requests: int, wall: float, client_cpu: float, server_cpu: float) -> None:
        self.requests += requests
        self.wall += wall
        self.client_cpu += client_cpu
        self.server_cpu += server_cpu

    @property
    def rate(self) -> float:
        """Requests per second of wall time."""
        return self.requests / self.wall

    @property
    def cpu_per_request(self) -> float:
        """Client CPU seconds per request."""
        return self.client_cpu / self.requests


async def run_slice(fetch: Fetch, n: int, c: int, server_pid: int, into: Totals) -> None:
    """``n`` requests by ``c`` workers; adds their wall time and CPU to ``into``."""
    remaining = n

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await fetch()

    gc.collect()
    server0, cpu0, start = process_cpu(server_pid), own_cpu(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(c)))
    wall = time.perf_counter() - start
    into.add(n, wall, own_cpu() - cpu0, process_cpu(server_pid) - server0)


async def bench(
    url: str, path: str, n: int, c: int, rounds: int, slices: int, server_pid: int,
    names: list[str],
) -> dict[str, Samples]:  # fmt: skip
    clients = {name: await make(url, path, c) for name, make in MAKERS.items() if name in names}
    samples = {name: Samples() for name in clients}
    names = list(clients)
    per_slice = max(1, n // slices)
    try:
        for name, (fetch, _) in clients.items():  # warm-up: pools and server caches
            await run_slice(fetch, _share(name, c * 10, c), c, server_pid, Totals())
        for r in range(rounds):
            got = {name: Totals() for name in names}
            for i in range(slices):
                k = (r * slices + i) % len(names)
                this = {name: Totals() for name in names}
                for name in names[k:] + names[:k]:
                    await run_slice(
                        clients[name][0], _share(name, per_slice, c), c, server_pid, this[name]
                    )
                # Ratios pair each client with the baseline's slice next to it in time;
                # their median shrugs off a slice that another process preempted.
                base = this[BASELINE]
                for name, t in this.items():
                    samples[name].ratio.append(t.rate / base.rate)
                    samples[name].cpu_ratio.append(t.cpu_per_request / base.cpu_per_request)
                    got[name].add(t.requests, t.wall, t.client_cpu, t.server_cpu)
            for name, t in got.items():
                s = samples[name]
                s.rps.append(t.rate)
                s.client_us.append(t.cpu_per_request * 1e6)
                # /proc counts in clock ticks (10 ms): summed over a round, not a slice.
                s.server_us.append(t.server_cpu / t.requests * 1e6)
    finally:
        for _, close in clients.values():
            await close()
    return samples


def _share(name: str, n: int, c: int) -> int:
    # httpx runs ~10x slower here: a tenth of the requests (at least one per worker)
    # gives its rate in a tenth of the time (rates, not totals, are compared).
    return max(c, n // 10) if name == "httpx" else n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--slices", type=int, default=10)
    parser.add_argument("--path", default="/v1/info")
    parser.add_argument("--server", choices=["node", "minimal"], default="minimal")
    parser.add_argument("--clients", default=",".join(MAKERS), help="comma-separated subset")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    names = [name.strip() for name in args.clients.split(",")]
    unknown = set(names) - set(MAKERS)
    if unknown or BASELINE not in names:
        parser.error(f"--clients: unknown {sorted(unknown)} or no {BASELINE!r} baseline")
    if args.serve:
        serve_forever(args.server)
        return
    load = os.getloadavg()
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
            raise SystemExit("the server did not start")
        samples = asyncio.run(
            bench(
                url,
                args.path,
                args.requests,
                args.concurrency,
                args.rounds,
                args.slices,
                child.pid,
                names,
            )
        )
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=30)
    print(
        f"{args.server} server, GET {args.path}, N={args.requests} c={args.concurrency}, "
        f"{args.rounds} rounds of {args.slices} slices (order rotated), "
        f"same {TIMEOUT:.0f}s timeout, "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at start"
    )
    print(f"  {'client':<17} {'req/s':>8} {'vs aiohttp':>10} {'client CPU/req':>15} "
          f"{'vs aiohttp':>10} {'server CPU/req':>15}")  # fmt: skip
    med = statistics.median
    for name, s in samples.items():
        print(
            f"  {name:<17} {med(s.rps):8.0f} {med(s.ratio):9.2f}x "
            f"{med(s.client_us):12.1f} µs {med(s.cpu_ratio):9.2f}x {med(s.server_us):12.0f} µs"
        )
    ours = samples.get("HTTPTransport")
    if ours is not None:
        q1, q2, q3 = statistics.quantiles(ours.ratio, n=4)
        print(
            f"  HTTPTransport req/s vs aiohttp over {len(ours.ratio)} slices: "
            f"quartiles {q1:.2f} {q2:.2f} {q3:.2f}, min {min(ours.ratio):.2f}, "
            f"max {max(ours.ratio):.2f}"
        )


if __name__ == "__main__":
    main()
