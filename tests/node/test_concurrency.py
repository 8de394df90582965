"""Many pollers, transfers and events at once: atomic claims (SQLite and PostgreSQL), no
overdraft and no gap in any topic's sequence (PostgreSQL, where writers truly overlap)."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from aitbc.node.events import read_events

from .support import Actor, TestMiner, make_actor


async def _drain(miner: TestMiner) -> list[str]:
    got: list[str] = []
    while (job := await miner.poll()) is not None:
        got.append(job["id"])
    return got


async def test_each_job_is_claimed_once(any_node: Any) -> None:
    pg_node = any_node
    client = await make_actor(pg_node, "client", "alice")
    miners = [await make_actor(pg_node, "miner", f"m{i}") for i in range(10)]
    try:
        await pg_node.faucet(client.id, 1_000)
        for miner in miners:
            assert isinstance(miner, TestMiner)
            await miner.register()
        jobs = [
            (
                await client.ok(
                    "POST",
                    "/v1/jobs",
                    201,
                    json={"job_type": "echo", "payload": {"i": i}, "price": "10"},
                )
            )["id"]
            for i in range(20)
        ]
        claims = await asyncio.gather(*[_drain(m) for m in miners])  # type: ignore[arg-type]
        flat = [job for got in claims for job in got]
        assert Counter(flat) == Counter(jobs)
        for miner, got in zip(miners, claims, strict=True):
            held = await miner.ok("GET", "/v1/jobs", params={"state": "RUNNING"})
            assert sorted(j["id"] for j in held["items"]) == sorted(got)
    finally:
        for actor in (client, *miners):
            await actor.aclose()


@pytest.mark.postgres
async def test_concurrent_debits_never_overdraw(pg_node: Any) -> None:
    payer = await make_actor(pg_node, "client", "payer")
    payee = await make_actor(pg_node, "client", "payee")
    try:
        await pg_node.faucet(payer.id, 100)
        body = {"to": payee.id, "amount": "10"}
        answers = await asyncio.gather(
            *[payer.http.post("/v1/wallet/transfer", json=body) for _ in range(15)],
            *[
                payer.http.post("/v1/jobs", json={"job_type": "echo", "payload": 1, "price": "10"})
                for _ in range(5)
            ],
        )
        assert sorted(a.status_code for a in answers) == [201] * 10 + [402] * 10
        assert (await payer.ok("GET", "/v1/wallet/balance"))["balance"] == "0"
        async with pg_node.node.sessions() as session:
            events = await read_events(session, f"account:{payer.id}")
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        assert len(events) == 11  # the mint and ten debits; refused debits left nothing
    finally:
        await payer.aclose()
        await payee.aclose()


@pytest.mark.postgres
async def test_parallel_job_creation_keeps_topics_gap_free(pg_node: Any) -> None:
    clients: list[Actor] = [await make_actor(pg_node, "client", f"c{i}") for i in range(4)]
    try:
        for client in clients:
            await pg_node.faucet(client.id, 1_000)
        await asyncio.gather(
            *[
                client.ok(
                    "POST", "/v1/jobs", 201, json={"job_type": "echo", "payload": n, "price": "1"}
                )
                for client in clients
                for n in range(5)
            ]
        )
        async with pg_node.node.sessions() as session:
            escrow = await read_events(session, "account:sys:escrow")
        assert [e.seq for e in escrow] == list(range(1, 21))
    finally:
        for client in clients:
            await client.aclose()
