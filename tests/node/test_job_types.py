"""Job types the node knows: a typo is refused before any money moves."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update

from aitbc.node.job_types import ROSTER_SECONDS
from aitbc.node.tables import MINERS

from .conftest import Cast
from .support import Actor, TestMiner, make_actor


def job(job_type: str) -> dict[str, Any]:
    return {"job_type": job_type, "payload": {"x": 1}, "price": "10"}


async def test_unknown_job_type_is_refused_naming_the_known_ones(any_cast: Cast) -> None:
    error = await any_cast.client.err(
        "POST", "/v1/jobs", 422, "unknown_job_type", json=job("no_such_type")
    )
    assert "'no_such_type'" in error["message"]
    assert "echo, matmul, sha256" in error["message"]
    assert error["details"][0]["loc"] == ["body", "job_type"]
    balance = await any_cast.client.ok("GET", "/v1/wallet/balance")
    assert balance == {"account_id": any_cast.client.id, "balance": "10000", "escrowed": "0"}
    listed = await any_cast.client.ok("GET", "/v1/jobs")
    assert listed["items"] == []


async def test_a_type_a_miner_registers_becomes_known(any_cast: Cast) -> None:
    await any_cast.client.err("POST", "/v1/jobs", 422, "unknown_job_type", json=job("llm-70b"))
    await any_cast.miner.register(job_types=["echo", "llm-70b"])
    created = await any_cast.client.ok("POST", "/v1/jobs", 201, json=job("llm-70b"))
    claimed = await any_cast.miner.poll()
    assert claimed["id"] == created["id"]


async def test_operators_configure_types_ahead_of_miners(node_factory: Any) -> None:
    node = await node_factory(job_types="render, transcode")
    client = await make_actor(node, "client", "alice")
    miner = await make_actor(node, "miner", "bob")
    assert isinstance(miner, TestMiner)
    try:
        await node.faucet(client.id, 100)
        await client.ok("POST", "/v1/jobs", 201, json=job("render"))
        error = await client.err("POST", "/v1/jobs", 422, "unknown_job_type", json=job("echo"))
        assert "known types: render, transcode" in error["message"]
        await miner.register(job_types=["echo"])
        await client.ok("POST", "/v1/jobs", 201, json=job("echo"))
    finally:
        for actor in (client, miner):
            await actor.aclose()


async def test_a_node_with_no_types_says_so(node_factory: Any) -> None:
    node = await node_factory(job_types=" ")
    client: Actor = await make_actor(node, "client", "alice")
    try:
        await node.faucet(client.id, 100)
        error = await client.err("POST", "/v1/jobs", 422, "unknown_job_type", json=job("echo"))
        assert error["message"].endswith("known types: none yet")
    finally:
        await client.aclose()


async def test_a_queued_job_no_miner_can_serve_says_why(any_cast: Cast) -> None:
    created = await any_cast.client.ok("POST", "/v1/jobs", 201, json=job("sha256"))
    seen = await any_cast.client.ok("GET", f"/v1/jobs/{created['id']}")
    assert seen["blocked_reason"] == "no registered miner serves job type 'sha256'"
    picky = {**job("echo"), "constraints": {"models": ["llama-70b"]}}
    waiting = await any_cast.client.ok("POST", "/v1/jobs", 201, json=picky)
    seen = await any_cast.client.ok("GET", f"/v1/jobs/{waiting['id']}")
    assert seen["blocked_reason"] == "no registered miner meets this job's price and constraints"
    await any_cast.miner.register(job_types=["echo", "sha256"], models=["llama-70b"])
    for job_id in (created["id"], waiting["id"]):
        seen = await any_cast.client.ok("GET", f"/v1/jobs/{job_id}")
        assert seen["blocked_reason"] is None
    canceled = await any_cast.client.ok("POST", f"/v1/jobs/{created['id']}/cancel")
    assert canceled["state"] == "CANCELED"


async def test_a_job_whose_able_miners_went_silent_says_so(any_cast: Cast) -> None:
    runtime = any_cast.node.node
    heard = runtime.clock()
    runtime.clock = lambda: heard  # the miner is heard from at exactly `heard`
    await any_cast.miner.register(job_types=["echo"])
    await any_cast.miner.ok("POST", "/v1/miners/heartbeat")
    waiting = await any_cast.client.ok("POST", "/v1/jobs", 201, json=job("echo"))
    seen = await any_cast.client.ok("GET", f"/v1/jobs/{waiting['id']}")
    assert seen["blocked_reason"] is None
    window = runtime.settings.miner_live_seconds
    runtime.clock = lambda: heard + timedelta(seconds=window + 1)
    seen = await any_cast.client.ok("GET", f"/v1/jobs/{waiting['id']}")
    assert seen["blocked_reason"] == (
        f"no miner that can take this job has been heard from in the last {window:g} s"
    )
    runtime.clock = lambda: heard + timedelta(seconds=window - 1)
    seen = await any_cast.client.ok("GET", f"/v1/jobs/{waiting['id']}")
    assert seen["blocked_reason"] is None


async def test_another_workers_registration_shows_within_the_roster_age(any_cast: Cast) -> None:
    """The miner roster behind ``blocked_reason`` is reused for ROSTER_SECONDS of the
    node's clock; a change made through another worker (here: straight in the database,
    which tells this worker nothing) shows once that has passed."""
    runtime = any_cast.node.node
    start = runtime.clock()
    runtime.clock = lambda: start
    await any_cast.miner.register(job_types=["echo"])
    waiting = await any_cast.client.ok("POST", "/v1/jobs", 201, json=job("sha256"))
    path = f"/v1/jobs/{waiting['id']}"
    blocked = "no registered miner serves job type 'sha256'"
    assert (await any_cast.client.ok("GET", path))["blocked_reason"] == blocked
    capabilities = {"job_types": ["echo", "sha256"]}
    await runtime.write(
        lambda tx: tx.conn.execute(
            update(MINERS)
            .where(MINERS.c.principal_id == any_cast.miner.id)
            .values(capabilities=capabilities)
        )
    )
    runtime.clock = lambda: start + timedelta(seconds=ROSTER_SECONDS / 2)
    assert (await any_cast.client.ok("GET", path))["blocked_reason"] == blocked  # cached
    runtime.clock = lambda: start + timedelta(seconds=ROSTER_SECONDS * 1.5)
    assert (await any_cast.client.ok("GET", path))["blocked_reason"] is None
