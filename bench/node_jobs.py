"""Node throughput: jobs created per second, and end-to-end jobs completed per second with
1 and 4 miners, on SQLite and PostgreSQL, in one run.

    .venv/bin/python bench/node_jobs.py [--jobs 200] [--postgres postgresql://...]

PostgreSQL comes from --postgres or AITBC_TEST_POSTGRES_URL (a scratch database is created
and dropped); without one, only SQLite runs. Ratios are against SQLite in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from aitbc.core.canonical import content_hash
from aitbc.core.receipts import attest, miner_claim
from aitbc.core.signing import SigningKey
from aitbc.node.embedded import EmbeddedNode, run_node

JOB = {"job_type": "echo", "payload": {"text": "bench"}, "price": "1"}


async def create_jobs(node: EmbeddedNode, key: str, count: int, concurrency: int = 8) -> float:
    """Create ``count`` jobs with ``concurrency`` parallel requests; return jobs/s."""
    async with aiohttp.ClientSession(node.url, headers={"X-API-Key": key}) as http:
        queue = iter(range(count))

        async def worker() -> None:
            for _ in queue:
                async with http.post("/v1/jobs", json=JOB) as response:
                    assert response.status == 201, await response.text()

        started = time.perf_counter()
        await asyncio.gather(*[worker() for _ in range(concurrency)])
        return count / (time.perf_counter() - started)


async def run_miner(node: EmbeddedNode, info: dict[str, Any], target: int, done: list[int]) -> None:
    miner_id, key = await node.create_principal("miner", f"m-{uuid.uuid4().hex[:6]}")
    signing = SigningKey.generate()
    async with aiohttp.ClientSession(node.url, headers={"X-API-Key": key}) as http:
        caps = {"public_key": signing.verify_key.b64, "capabilities": {"job_types": ["echo"]}}
        async with http.post("/v1/miners/register", json=caps) as response:
            assert response.status == 200
        while sum(done) < target:
            async with http.post("/v1/miners/poll", json={"wait_seconds": 0.2}) as response:
                if response.status == 204:
                    continue
                job = (await response.json())["job"]
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
            done.append(1)


async def end_to_end(node: EmbeddedNode, key: str, count: int, miners: int) -> float:
    """Queue ``count`` jobs, then time ``miners`` miners completing all of them."""
    await create_jobs(node, key, count)
    async with aiohttp.ClientSession(node.url) as http, http.get("/v1/info") as response:
        info = await response.json()
    done: list[int] = []
    started = time.perf_counter()
    await asyncio.gather(*[run_miner(node, info, count, done) for _ in range(miners)])
    return count / (time.perf_counter() - started)


@asynccontextmanager
async def scratch_postgres(admin_url: str) -> AsyncIterator[str]:
    import asyncpg

    name = f"aitbc_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(admin_url)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    try:
        yield (
            admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
            + "/"
            + name
        )
    finally:
        conn = await asyncpg.connect(admin_url)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


@asynccontextmanager
async def fresh_node(backend: str, postgres: str | None) -> AsyncIterator[tuple[EmbeddedNode, str]]:
    """A node on an empty database of ``backend`` with a funded client (node, client key)."""
    if backend == "sqlite":
        async with run_node(None) as node:
            yield node, await _funded_client(node)
        return
    assert postgres is not None
    async with scratch_postgres(postgres) as url, run_node(url) as node:
        yield node, await _funded_client(node)


async def _funded_client(node: EmbeddedNode) -> str:
    client_id, key = await node.create_principal("client", "bench")
    await node.faucet(client_id, 10**12)
    return key


async def measure(backend: str, postgres: str | None, jobs: int) -> dict[str, float]:
    results: dict[str, float] = {}
    async with fresh_node(backend, postgres) as (node, key):
        results["create"] = await create_jobs(node, key, jobs)
    for miners in (1, 4):
        async with fresh_node(backend, postgres) as (node, key):
            results[f"e2e_{miners}"] = await end_to_end(node, key, jobs, miners)
    return results


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--postgres", default=os.environ.get("AITBC_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    table: dict[str, dict[str, float]] = {}
    table["sqlite"] = await measure("sqlite", None, args.jobs)
    if args.postgres:
        table["postgres"] = await measure("postgres", args.postgres, args.jobs)
    base = table["sqlite"]
    print(f"{'backend':10} {'metric':28} {'per second':>12} {'vs sqlite':>10}")
    for backend, values in table.items():
        for metric, label in [
            ("create", "jobs created"),
            ("e2e_1", "e2e completed, 1 miner"),
            ("e2e_4", "e2e completed, 4 miners"),
        ]:
            ratio = values[metric] / base[metric]
            print(f"{backend:10} {label:28} {values[metric]:12.1f} {ratio:9.2f}x")


if __name__ == "__main__":
    asyncio.run(main())
