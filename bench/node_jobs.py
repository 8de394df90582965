"""Node throughput and server CPU per operation, with the node in its own process.

    .venv/bin/python bench/node_jobs.py [--quick] [--runs 3] [--postgres postgresql://...]
        [--baseline-src /path/to/other/checkout/src] [--workloads cycle8,cycle32]
        [--configs sqlite,pg-w2]

Each measurement starts ``aitbc serve`` as a subprocess on a fresh database (a new SQLite
file, or a scratch PostgreSQL database that is dropped afterwards), warms it up, then
drives it from this process with raw aiohttp. The server's CPU (user + system, its worker
processes included) is read from /proc before and after each workload and divided by
the operations done. Configurations run in alternating order (forwards, then backwards);
every figure is the median over ``--runs`` runs. Ratios are against the first
configuration of the same run (``sqlite``; or ``base-sqlite``, the node from
``--baseline-src``, when that is given; with PostgreSQL the baseline also runs as
``base-pg`` and ``base-pg-w2``).

Workloads:
  create   POST /v1/jobs at c=8 (job type no miner serves, so they stay queued)
  read     authenticated GET /v1/jobs/{id} at c=8
  info     GET /v1/info at c=32
  cycle8 / cycle32   the full job cycle at c=8 / c=32 concurrent connections: 4 miners
           (one separate process running 4 long-polling miners that sign results) plus
           c-4 client loops that each create a job and poll GET /v1/jobs/{id} every
           ``--client-poll`` seconds (0.1: half the SDK's first wait_for_completion
           interval, with no backoff) until they see COMPLETED; jobs/s counts cycles
           finished inside the window, p50 is create -> client sees COMPLETED.
PostgreSQL (from --postgres or AITBC_TEST_POSTGRES_URL) adds ``pg`` and ``pg-w2``
(``--workers 2``); without it only SQLite runs. ``--workloads`` picks some of
create, read, info (these three run together, in one server), cycle8, cycle32;
``--configs`` some of the configurations (the first one given is the ratio baseline).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from _rt_common import cpu_seconds, free_port, stop_process

from aitbc.core.canonical import content_hash
from aitbc.core.receipts import attest, miner_claim
from aitbc.core.signing import SigningKey

MINERS = 4
WORKLOADS = ("create", "read", "info", "cycle8", "cycle32")
REQUEST_WORKLOADS = {"create", "read", "info"}
IDLE_JOB = {"job_type": "idle", "payload": {"text": "bench"}, "price": "1"}
ECHO_JOB = {"job_type": "echo", "payload": {"text": "bench"}, "price": "1"}


# --- the server process and its CPU ------------------------------------------------------


@dataclass(frozen=True)
class Config:
    name: str
    backend: str  # sqlite | postgres
    workers: int = 1
    src: str | None = None  # PYTHONPATH of another checkout (the baseline)


@dataclass
class Server:
    url: str
    admin_key: str
    process: subprocess.Popen[bytes]

    def cpu(self) -> float:
        return cpu_seconds(self.process.pid)


@contextlib.asynccontextmanager
async def scratch_postgres(admin_url: str) -> AsyncIterator[str]:
    import asyncpg

    name = f"aitbc_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(admin_url)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        conn = await asyncpg.connect(admin_url)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


@contextlib.asynccontextmanager
async def database(config: Config, postgres: str | None) -> AsyncIterator[str]:
    if config.backend == "postgres":
        assert postgres is not None
        async with scratch_postgres(postgres) as url:
            yield url.replace("postgresql://", "postgresql+asyncpg://", 1)
        return
    with tempfile.TemporaryDirectory(prefix="aitbc-bench-") as tmp:
        yield f"sqlite+aiosqlite:///{Path(tmp) / 'node.sqlite3'}"


@contextlib.asynccontextmanager
async def serve(config: Config, postgres: str | None) -> AsyncIterator[Server]:
    """``aitbc serve`` on a fresh database; stopped (SIGTERM, by pid) on exit."""
    async with database(config, postgres) as url:
        port, key = free_port(), "aitbc_bench_" + uuid.uuid4().hex
        env = dict(os.environ)
        # ``idle``: a type the node accepts (configured) but no bench miner serves.
        env["AITBC_NODE_JOB_TYPES"] = "echo,idle"
        if config.src:
            env["PYTHONPATH"] = config.src
        command = [
            sys.executable,
            "-c",
            "from aitbc.cli.main import main; main()",
            "serve",
            "--port",
            str(port),
            "--database-url",
            url,
            "--admin-key",
            key,
            "--workers",
            str(config.workers),
            "--log-level",
            "warning",
        ]
        process = subprocess.Popen(command, env=env)  # noqa: ASYNC220 (returns at once)
        server = Server(f"http://127.0.0.1:{port}", key, process)
        try:
            await _wait_healthy(server)
            yield server
        finally:
            stop_process(process)


async def _wait_healthy(server: Server) -> None:
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(f"node exited with {server.process.returncode}")
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(server.url + "/v1/info") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError("node did not become healthy within 60 s")


# --- principals ----------------------------------------------------------------------------


async def _principal(http: aiohttp.ClientSession, server: Server, role: str) -> tuple[str, str]:
    body = {"role": role, "name": f"{role}-{uuid.uuid4().hex[:6]}"}
    headers = {"X-API-Key": server.admin_key}
    async with http.post(server.url + "/v1/admin/principals", json=body, headers=headers) as r:
        assert r.status == 201, await r.text()
        created = await r.json()
    principal_id = created["principal"]["id"]
    if role == "client":
        faucet = {"account_id": principal_id, "amount": str(10**12)}
        async with http.post(server.url + "/v1/admin/faucet", json=faucet, headers=headers) as r:
            assert r.status == 201, await r.text()
    return principal_id, created["api_key"]


# --- closed-loop request workloads ---------------------------------------------------------


@dataclass
class Figures:
    values: dict[str, float] = field(default_factory=dict)


async def _closed_loop(
    server: Server, count: int, concurrency: int, call: Callable[[int], Awaitable[None]]
) -> tuple[float, float]:
    """``count`` calls over ``concurrency`` loops; (calls/s, server CPU ms per call)."""
    queue = iter(range(count))

    async def loop() -> None:
        for i in queue:
            await call(i)

    cpu0, t0 = server.cpu(), time.perf_counter()
    await asyncio.gather(*[loop() for _ in range(concurrency)])
    elapsed, cpu = time.perf_counter() - t0, server.cpu() - cpu0
    return count / elapsed, cpu * 1000 / count


async def request_workloads(server: Server, n: int, figures: Figures) -> None:
    connector = aiohttp.TCPConnector(limit=64)
    async with aiohttp.ClientSession(server.url, connector=connector) as http:
        _, key = await _principal(http, server, "client")
        auth = {"X-API-Key": key}
        ids: list[str] = []

        async def create(_: int) -> None:
            async with http.post("/v1/jobs", json=IDLE_JOB, headers=auth) as r:
                assert r.status == 201, await r.text()
                ids.append((await r.json())["id"])

        async def read(i: int) -> None:
            async with http.get(f"/v1/jobs/{ids[i % len(ids)]}", headers=auth) as r:
                assert r.status == 200, await r.text()
                await r.read()

        async def info(_: int) -> None:
            async with http.get("/v1/info") as r:
                assert r.status == 200
                await r.read()

        await _closed_loop(server, n // 4, 8, create)  # warm-up (also the ids to read)
        await _closed_loop(server, n // 4, 8, read)
        await _closed_loop(server, n // 4, 32, info)
        for name, fn, c, count in [
            ("create", create, 8, n),
            ("read", read, 8, 2 * n),
            ("info", info, 32, 4 * n),
        ]:
            rate, cpu = await _closed_loop(server, count, c, fn)
            figures.values[f"{name} /s"] = rate
            figures.values[f"{name} cpu ms"] = cpu


# --- the full job cycle ----------------------------------------------------------------------


async def _miner(
    url: str, miner_id: str, key: str, info: dict[str, Any], ready: asyncio.Event
) -> None:
    signing = SigningKey.generate()
    async with aiohttp.ClientSession(url, headers={"X-API-Key": key}) as http:
        caps = {"public_key": signing.verify_key.b64, "capabilities": {"job_types": ["echo"]}}
        async with http.post("/v1/miners/register", json=caps) as r:
            assert r.status == 200, await r.text()
        ready.set()
        while True:
            async with http.post("/v1/miners/poll", json={"wait_seconds": 1}) as r:
                if r.status == 204:
                    continue
                assert r.status == 200, await r.text()
                job = (await r.json())["job"]
            result = job["payload"]
            claim = miner_claim(
                {
                    "job_id": job["id"],
                    "input_hash": content_hash(job["payload"]),
                    "output_hash": content_hash(result),
                    "units": 1,
                    "price": job["price"],
                    "chain_id": info["chain_id"],
                    "coordinator_id": info["coordinator_id"],
                    "miner_id": miner_id,
                }
            )
            att = {k: v for k, v in attest(signing, claim).items() if k != "role"}
            body = {"result": result, "units": 1, "attestation": att}
            async with http.post(f"/v1/miners/jobs/{job['id']}/result", json=body) as r:
                assert r.status == 200, await r.text()


async def miner_process_main(spec: str) -> None:
    """``--miner-process``: run the miners in ``spec`` until stdin closes."""
    config = json.loads(spec)
    ready = [asyncio.Event() for _ in config["miners"]]
    tasks = [
        asyncio.create_task(_miner(config["url"], mid, key, config["info"], event))
        for (mid, key), event in zip(config["miners"], ready, strict=True)
    ]
    await asyncio.gather(*[event.wait() for event in ready])
    print("ready", flush=True)  # the parent starts its clients only now
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@contextlib.asynccontextmanager
async def miners_running(server: Server, http: aiohttp.ClientSession) -> AsyncIterator[None]:
    async with http.get(server.url + "/v1/info") as r:
        info = await r.json()
    miners = [await _principal(http, server, "miner") for _ in range(MINERS)]
    spec = json.dumps({"url": server.url, "info": info, "miners": miners})
    command = [sys.executable, __file__, "--miner-process", spec]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)  # noqa: ASYNC220
    try:
        assert process.stdout is not None
        line = await asyncio.get_running_loop().run_in_executor(None, process.stdout.readline)
        if line.strip() != b"ready":
            raise RuntimeError("the miner process did not start")
        yield
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=20)


async def cycle(
    server: Server,
    concurrency: int,
    seconds: float,
    poll: float,
    figures: Figures,
    warmup: float = 1.0,
) -> None:
    """The full cycle at ``concurrency`` connections (MINERS of them are the miners)."""
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(server.url, connector=connector) as http:
        keys = [(await _principal(http, server, "client"))[1] for _ in range(4)]
        latencies: list[float] = []
        window = {"start": float("inf"), "end": float("inf")}
        stop = asyncio.Event()

        async def one_client(key: str) -> None:
            auth = {"X-API-Key": key}
            while not stop.is_set():
                t0 = time.perf_counter()
                async with http.post("/v1/jobs", json=ECHO_JOB, headers=auth) as r:
                    assert r.status == 201, await r.text()
                    job_id = (await r.json())["id"]
                while True:
                    await asyncio.sleep(poll)
                    async with http.get(f"/v1/jobs/{job_id}", headers=auth) as r:
                        state = (await r.json())["state"]
                    if state == "COMPLETED":
                        break
                    assert state in ("QUEUED", "RUNNING"), state
                t1 = time.perf_counter()
                if window["start"] <= t1 <= window["end"]:
                    latencies.append(t1 - t0)

        async with miners_running(server, http):
            clients = [
                asyncio.create_task(one_client(keys[i % len(keys)]))
                for i in range(concurrency - MINERS)
            ]
            await asyncio.sleep(warmup)  # the loops reach steady state, pools fill
            cpu0 = server.cpu()
            window["start"] = time.perf_counter()
            window["end"] = window["start"] + seconds
            await asyncio.sleep(seconds)
            cpu = server.cpu() - cpu0
            stop.set()
            await asyncio.gather(*clients)
    done = len(latencies)
    figures.values[f"cycle{concurrency} jobs/s"] = done / seconds
    figures.values[f"cycle{concurrency} p50 ms"] = (
        statistics.median(latencies) * 1000 if latencies else float("nan")
    )
    figures.values[f"cycle{concurrency} cpu ms"] = cpu * 1000 / done if done else float("nan")


# --- runs, medians, report ------------------------------------------------------------------


async def measure(config: Config, args: argparse.Namespace, run: int) -> Figures:
    figures = Figures()
    if args.workloads & REQUEST_WORKLOADS:
        async with serve(config, args.postgres) as server:
            await request_workloads(server, args.requests, figures)
    orders = [(8, 32), (32, 8)]
    for concurrency in orders[run % 2]:
        if f"cycle{concurrency}" not in args.workloads:
            continue
        async with serve(config, args.postgres) as server:  # a fresh database per cycle
            await cycle(server, concurrency, args.seconds, args.client_poll, figures, args.warmup)
    return figures


def _configs(args: argparse.Namespace) -> list[Config]:
    configs = []
    if args.baseline_src:
        configs.append(Config("base-sqlite", "sqlite", src=args.baseline_src))
    configs.append(Config("sqlite", "sqlite"))
    if args.postgres:
        if args.baseline_src:
            configs.append(Config("base-pg", "postgres", src=args.baseline_src))
            configs.append(Config("base-pg-w2", "postgres", workers=2, src=args.baseline_src))
        configs += [Config("pg", "postgres"), Config("pg-w2", "postgres", workers=2)]
    if args.configs:
        by_name = {c.name: c for c in configs}
        unknown = [n for n in args.configs if n not in by_name]
        if unknown:
            raise SystemExit(f"unknown configs {unknown}; known: {', '.join(by_name)}")
        configs = [by_name[n] for n in args.configs]
    return configs


def report(configs: list[Config], runs: dict[str, list[Figures]]) -> None:
    medians = {
        c.name: {
            metric: statistics.median(f.values[metric] for f in runs[c.name])
            for metric in runs[c.name][0].values
        }
        for c in configs
    }
    base = configs[0].name
    metrics = list(medians[base])
    print(f"\nmedians of {len(runs[base])} runs; ratio = value / {base} (same run)")
    print(f"{'metric':20}" + "".join(f"{c.name:>22}" for c in configs))
    for metric in metrics:
        row = f"{metric:20}"
        for c in configs:
            value, ref = medians[c.name][metric], medians[base][metric]
            ratio = value / ref if ref else float("nan")
            row += f"{value:12.2f} ({ratio:5.2f}x)"
        print(row)


async def main_async(args: argparse.Namespace) -> None:
    configs = _configs(args)
    runs: dict[str, list[Figures]] = {c.name: [] for c in configs}
    for run in range(args.runs):
        order = configs if run % 2 == 0 else configs[::-1]
        for config in order:
            print(f"run {run + 1}/{args.runs}: {config.name}", file=sys.stderr, flush=True)
            runs[config.name].append(await measure(config, args, run))
    report(configs, runs)


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--miner-process":
        asyncio.run(miner_process_main(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 runs, fewer requests, 2 s")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=400, help="creates per run")
    parser.add_argument("--seconds", type=float, default=4.0, help="full-cycle window")
    parser.add_argument("--client-poll", type=float, default=0.1, help="seconds")
    parser.add_argument(
        "--warmup", type=float, default=1.0, help="seconds of full cycle before the window"
    )
    parser.add_argument("--postgres", default=os.environ.get("AITBC_TEST_POSTGRES_URL"))
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--baseline-src", help="src/ of another checkout, as the baseline")
    parser.add_argument(
        "--workloads",
        default=",".join(WORKLOADS),
        help=f"comma-separated subset of {','.join(WORKLOADS)}",
    )
    parser.add_argument("--configs", help="comma-separated configuration names to run")
    args = parser.parse_args()
    args.workloads = {w.strip() for w in args.workloads.split(",") if w.strip()}
    if not args.workloads or not args.workloads <= set(WORKLOADS):
        parser.error(f"--workloads must be a subset of {','.join(WORKLOADS)}")
    args.configs = [c.strip() for c in args.configs.split(",")] if args.configs else None
    if args.quick:
        args.runs, args.requests, args.seconds = 2, 150, 2.0
    if args.no_postgres:
        args.postgres = None
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
