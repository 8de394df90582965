"""Miner API: registration, claim matching, leases and the result/fail guards."""

from __future__ import annotations

import asyncio
from typing import Any

from .conftest import Cast, make_cast
from .support import TestMiner, info, make_actor

JOB = {"job_type": "echo", "payload": {"n": 1}, "price": "100"}


async def test_register_validates_and_replaces(cast: Cast) -> None:
    fresh = await make_actor(cast.node, "miner", "m2")
    try:
        await fresh.err("POST", "/v1/miners/poll", 409, "miner_not_registered", json={})
        await fresh.err(
            "POST",
            "/v1/miners/register",
            422,
            "validation_error",
            json={"public_key": "not-a-key", "capabilities": {"job_types": ["x"]}},
        )
        assert isinstance(fresh, TestMiner)
        first = await fresh.register(models=["llama"])
        second = await fresh.register(job_types=["matmul"], gpu_memory_gb=24)
        assert first["id"] == second["id"] == fresh.id
        assert second["capabilities"]["job_types"] == ["matmul"]
        assert second["key_id"] == fresh.signing_key.key_id
    finally:
        await fresh.aclose()


async def test_poll_is_204_when_idle_and_wakes_on_new_job(cast: Cast) -> None:
    assert await cast.miner.poll() is None
    waiting = asyncio.create_task(cast.miner.poll(wait=5))
    await asyncio.sleep(0.2)
    job = await cast.client.ok("POST", "/v1/jobs", 201, json=JOB)
    claimed = await asyncio.wait_for(waiting, 5)
    assert claimed["id"] == job["id"] and claimed["miner_id"] == cast.miner.id


async def test_claim_respects_constraints(cast: Cast) -> None:
    cases: list[dict[str, Any]] = [
        {"job_type": "matmul"},
        {"constraints": {"models": ["llama"]}},
        {"constraints": {"min_gpu_memory_gb": 16}},
        {"constraints": {"region": "eu"}},
        {"constraints": {"max_price": "5"}},
    ]
    for extra in cases:
        await cast.client.ok("POST", "/v1/jobs", 201, json={**JOB, **extra})
    await cast.miner.register(min_price="10")
    assert await cast.miner.poll() is None
    await cast.miner.register(
        job_types=["echo", "matmul"],
        models=["llama", "sd"],
        gpu_memory_gb=24,
        region="eu",
        min_price="0",
    )
    claimed = [await cast.miner.poll() for _ in range(6)]
    assert claimed[-1] is None and all(claimed[:5])
    # The asking price also keeps cheap jobs away.
    await cast.miner.register(min_price="101")
    await cast.client.ok("POST", "/v1/jobs", 201, json=JOB)
    assert await cast.miner.poll() is None


async def test_result_guards(cast: Cast) -> None:
    node_info = await info(cast.node)
    job = await cast.client.ok("POST", "/v1/jobs", 201, json=JOB)
    claimed = await cast.miner.poll()
    path = f"/v1/miners/jobs/{job['id']}"
    body = cast.miner.result_body(claimed, {"n": 1}, node_info)
    forged = {**body, "result": {"n": 2}}
    await cast.miner.err("POST", f"{path}/result", 422, "bad_signature", json=forged)
    intruder = await make_actor(cast.node, "miner", "eve")
    try:
        assert isinstance(intruder, TestMiner)
        await intruder.register()
        await intruder.err(
            "POST",
            f"{path}/result",
            409,
            "lease_lost",
            json=intruder.result_body(claimed, {"n": 1}, node_info),
        )
    finally:
        await intruder.aclose()
    await cast.miner.ok("POST", f"{path}/result", json=body)
    await cast.miner.err("POST", f"{path}/result", 409, "invalid_state", json=body)
    await cast.miner.err("POST", f"{path}/fail", 409, "invalid_state", json={"error": "x"})
    assert (await cast.client.ok("GET", f"/v1/jobs/{job['id']}"))["state"] == "COMPLETED"
    await cast.miner.err("POST", "/v1/miners/jobs/job_nope/result", 404, "job_not_found", json=body)


async def test_result_for_canceled_job_is_rejected(cast: Cast) -> None:
    job = await cast.client.ok("POST", "/v1/jobs", 201, json=JOB)
    claimed = await cast.miner.poll()
    await cast.client.ok("POST", f"/v1/jobs/{job['id']}/cancel")
    body = cast.miner.result_body(claimed, {"n": 1}, await info(cast.node))
    await cast.miner.err(
        "POST", f"/v1/miners/jobs/{job['id']}/result", 409, "invalid_state", json=body
    )
    assert (await cast.miner.ok("GET", "/v1/wallet/balance"))["balance"] == "0"
    assert (await cast.client.ok("GET", "/v1/wallet/balance"))["balance"] == "10000"


async def test_fail_refunds_client(cast: Cast) -> None:
    job = await cast.client.ok("POST", "/v1/jobs", 201, json=JOB)
    await cast.miner.poll()
    failed = await cast.miner.ok(
        "POST", f"/v1/miners/jobs/{job['id']}/fail", json={"error": "GPU on fire"}
    )
    assert failed["state"] == "FAILED" and failed["error"] == "GPU on fire"
    assert (await cast.client.ok("GET", "/v1/wallet/balance"))["balance"] == "10000"


async def test_lease_expiry_requeues_then_fails(node_factory: Any) -> None:
    node = await node_factory(lease_seconds=0.5, max_attempts=2)
    async for cast in make_cast(node):
        job = await cast.client.ok("POST", "/v1/jobs", 201, json=JOB)
        first = await cast.miner.poll()
        beat = await cast.miner.ok("POST", "/v1/miners/heartbeat")
        assert beat == {"ok": True, "renewed": [job["id"]]}
        await asyncio.sleep(0.6)
        # The silent miner lost the job: it is back in the queue, attempts counted.
        again = await cast.miner.poll(wait=2)
        assert again["id"] == first["id"] and again["attempts"] == 1
        late = cast.miner.result_body(first, {"n": 1}, await info(node))
        await asyncio.sleep(0.6)
        await cast.miner.err(
            "POST", f"/v1/miners/jobs/{job['id']}/result", 409, "invalid_state", json=late
        )
        final = await cast.client.ok("GET", f"/v1/jobs/{job['id']}")
        assert final["state"] == "FAILED" and final["attempts"] == 2
        assert (await cast.client.ok("GET", "/v1/wallet/balance"))["balance"] == "10000"


async def test_poller_that_hung_up_claims_nothing(cast: Cast) -> None:
    gone = TestMiner(cast.node.url, "", cast.miner.id)
    gone.http.headers["X-API-Key"] = cast.miner.http.headers["X-API-Key"]
    waiting = asyncio.create_task(gone.poll(wait=5))
    await asyncio.sleep(0.3)
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    await gone.aclose()
    await asyncio.sleep(0.2)
    job = await cast.client.ok("POST", "/v1/jobs", 201, json=JOB)
    await asyncio.sleep(0.3)
    assert (await cast.client.ok("GET", f"/v1/jobs/{job['id']}"))["state"] == "QUEUED"
    assert (await cast.miner.poll())["id"] == job["id"]


async def test_poll_body_is_optional(cast: Cast) -> None:
    job = await cast.client.ok("POST", "/v1/jobs", 201, json=JOB)
    claimed = await cast.miner.ok("POST", "/v1/miners/poll")
    assert claimed["job"]["id"] == job["id"] and claimed["lease_expires_at"]
    await cast.miner.err(
        "POST", "/v1/miners/poll", 422, "validation_error", json={"wait_seconds": 31}
    )


async def test_stopping_node_answers_waiting_polls(tmp_path: Any) -> None:
    from aitbc.node.embedded import run_node

    async with run_node(f"sqlite+aiosqlite:///{tmp_path / 's.sqlite3'}") as node:
        miner = await make_actor(node, "miner", "m")
        assert isinstance(miner, TestMiner)
        await miner.register()
        waiting = asyncio.create_task(miner.http.post("/v1/miners/poll", json={"wait_seconds": 30}))
        await asyncio.sleep(0.3)
    response = await waiting
    await miner.aclose()
    assert response.status_code == 204
