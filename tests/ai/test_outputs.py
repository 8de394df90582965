"""Streamed output on the node: idempotent, gap-free, committed to by the result."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pytest

from aitbc import AITBCClient, Job, JobResult
from aitbc.api.jobs import OutputChunk
from aitbc.core.canonical import content_hash
from aitbc.core.output import chain_of, summary
from aitbc.core.receipts import attest, miner_claim
from aitbc.core.signing import SigningKey
from aitbc.errors import AITBCError, ConflictError, NotFoundError, ValidationError
from aitbc.miner import Executor
from aitbc.miner.executors import Execution
from aitbc.miner.executors.base import JobContext
from aitbc.node.events import fetch_events

from .conftest import World
from .helpers import running_miner


class RawMiner:
    """The miner protocol by hand, to send exactly what a test needs."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.key = SigningKey.generate()
        self.client: AITBCClient = world.miner.client

    async def claim(self) -> dict[str, Any]:
        await self.call(
            "/v1/miners/register",
            {"public_key": self.key.verify_key.b64, "capabilities": {"job_types": ["echo"]}},
        )
        claimed = await self.call("/v1/miners/poll", {})
        job: dict[str, Any] = claimed["job"]
        return job

    async def call(self, path: str, body: dict[str, Any]) -> Any:
        return await self.client.transport.request("POST", path, body)

    async def result_body(self, job: dict[str, Any], result: Any, units: int = 1) -> dict[str, Any]:
        info = await self.client.transport.request("GET", "/v1/info")
        claim = miner_claim(
            {
                "job_id": job["id"],
                "input_hash": content_hash(job["payload"]),
                "output_hash": content_hash(result),
                "units": units,
                "price": job["price"],
                "chain_id": info["chain_id"],
                "coordinator_id": info["coordinator_id"],
                "miner_id": self.world.miner.id,
            }
        )
        att = attest(self.key, claim)
        return {
            "result": result,
            "units": units,
            "attestation": {k: att[k] for k in ("alg", "key_id", "sig")},
        }


async def test_retried_batches_record_each_chunk_once_and_gaps_are_refused(world: World) -> None:
    miner = RawMiner(world)
    created = await world.alice.client.jobs.create(job_type="echo", payload={}, price=10)
    job = await miner.claim()
    path = f"/v1/miners/jobs/{job['id']}/output"
    chunks = [{"t": "a"}, {"t": "b"}, {"t": "c"}]
    assert await miner.call(path, {"start": 0, "chunks": chunks[:2]}) == summary(
        2, chain_of(chunks[:2])
    )
    # A retry overlapping what was recorded adds only the new chunk.
    assert await miner.call(path, {"start": 1, "chunks": chunks[1:]}) == summary(
        3, chain_of(chunks)
    )
    with pytest.raises(ConflictError) as gap:
        await miner.call(path, {"start": 5, "chunks": [{"t": "z"}]})
    assert gap.value.code == "output_gap"
    wrong = await miner.result_body(job, {"output": summary(2, chain_of(chunks[:2]))})
    with pytest.raises(ValidationError) as mismatch:
        await miner.call(f"/v1/miners/jobs/{job['id']}/result", wrong)
    assert mismatch.value.code == "output_mismatch"
    right = await miner.result_body(job, {"output": summary(3, chain_of(chunks))})
    await miner.call(f"/v1/miners/jobs/{job['id']}/result", right)
    seen = [item async for item in world.alice.client.jobs.stream(created.id)]
    assert [c.chunk for c in seen[:-1] if isinstance(c, OutputChunk)] == chunks


async def test_only_the_holder_posts_output_while_its_lease_lasts(world: World) -> None:
    miner = RawMiner(world)
    await world.alice.client.jobs.create(job_type="echo", payload={"p": "x" * 1000}, price=10)
    job = await miner.claim()
    path = f"/v1/miners/jobs/{job['id']}/output"
    await miner.call(path, {"start": 0, "chunks": [{"t": "a"}]})
    with pytest.raises(AITBCError) as client:
        await world.alice.client.transport.request(
            "POST", path, {"start": 1, "chunks": [{"t": "c"}]}
        )
    assert client.value.status == 403
    with pytest.raises(NotFoundError):
        await miner.call("/v1/miners/jobs/job_nope/output", {"start": 0, "chunks": [{"t": "c"}]})
    node = world.node.node
    now = node.clock()
    node.clock = lambda: now + timedelta(seconds=node.settings.lease_seconds + 1)
    with pytest.raises(ConflictError) as lost:  # the lease ran out: requeued, not the holder's
        await miner.call(path, {"start": 1, "chunks": [{"t": "b"}]})
    assert lost.value.code == "lease_lost"


async def test_chunks_stay_readable_after_the_job_failed(world: World) -> None:
    miner = RawMiner(world)
    before = (await world.alice.client.wallet.balance()).balance
    created = await world.alice.client.jobs.create(job_type="echo", payload={}, price=10)
    job = await miner.claim()
    await miner.call(f"/v1/miners/jobs/{job['id']}/output", {"start": 0, "chunks": [{"t": "x"}]})
    await miner.call(f"/v1/miners/jobs/{job['id']}/fail", {"error": "inference server died"})
    seen = [item async for item in world.alice.client.jobs.stream(created.id)]
    assert isinstance(seen[0], OutputChunk) and seen[0].chunk == {"t": "x"}
    assert isinstance(seen[-1], Job) and seen[-1].state == "FAILED"
    assert (await world.alice.client.wallet.balance()).balance == before
    with pytest.raises(ConflictError):  # no more output once the job is over
        await miner.call(
            f"/v1/miners/jobs/{job['id']}/output", {"start": 1, "chunks": [{"t": "y"}]}
        )


async def test_per_unit_job_charges_what_was_used_and_refunds_the_rest(world: World) -> None:
    miner = RawMiner(world)
    before = (await world.alice.client.wallet.balance()).balance
    pricing = {"unit": "token", "unit_price": "3", "max_units": 10}
    with pytest.raises(ValidationError):  # the escrow must be the most it can cost
        await world.alice.client.jobs.create(job_type="echo", payload={}, price=29, pricing=pricing)
    created = await world.alice.client.jobs.create(
        job_type="echo", payload={}, price=30, pricing=pricing
    )
    assert (await world.alice.client.wallet.balance()).balance == before - 30
    job = await miner.claim()
    too_many = await miner.result_body(job, {"text": "x"}, units=11)
    with pytest.raises(ValidationError) as caught:
        await miner.call(f"/v1/miners/jobs/{job['id']}/result", too_many)
    assert caught.value.code == "units_exceed_max"
    done = await miner.call(
        f"/v1/miners/jobs/{job['id']}/result", await miner.result_body(job, {"text": "x"}, 4)
    )
    receipt = done["receipt"]
    assert (receipt["price"], receipt["charged"], receipt["refunded"]) == ("30", "12", "18")
    assert receipt["pricing"] == {"unit": "token", "unit_price": "3", "max_units": 10}
    assert (await world.alice.client.wallet.balance()).balance == before - 12
    assert (await world.miner.client.wallet.balance()).balance == 12
    verified = (await world.alice.client.jobs.result(created.id)).receipt
    assert verified["charged"] == "12"


class Burst(Executor):
    """Emits ``count`` chunks as fast as its thread can, then finishes."""

    def __init__(self, count: int) -> None:
        self.count = count

    def run(self, payload: Mapping[str, Any], cancel: threading.Event) -> Execution:
        raise AssertionError("the miner calls execute")

    def execute(
        self, payload: Mapping[str, Any], cancel: threading.Event, context: JobContext
    ) -> Execution:
        for i in range(self.count):
            context.emit({"i": i})
        return Execution(result={"emitted": self.count}, units=1)


async def test_paced_posts_carry_every_chunk_in_order_and_the_end_is_not_held(
    world: World,
) -> None:
    # A minute between posts: only the first post and the one at the job's end can go.
    plugins = {"echo": Burst(200)}
    async with running_miner(world.node.url, world.miner.key, plugins, output_interval=60):
        created = await world.alice.client.jobs.create(job_type="echo", payload={}, price=10)
        # Bounded only so a regression (the end waiting for the pace) fails, not hangs.
        async with asyncio.timeout(30):
            seen = [item async for item in world.alice.client.jobs.stream(created.id)]
    chunks = [c.chunk for c in seen if isinstance(c, OutputChunk)]
    assert chunks == [{"i": i} for i in range(200)]
    assert isinstance(seen[-1], JobResult)
    assert seen[-1].result["output"] == summary(200, chain_of(chunks))
    records = await world.node.node.read(lambda conn: fetch_events(conn, f"job:{created.id}"))
    posts = {r.created_at for r in records if r.event == "job.output"}  # one time per commit
    assert 1 <= len(posts) <= 2


class FlushThenWait(Executor):
    """Emits a first chunk (posted at once), then, once the test saw it, four more and
    a flush; finishes only when the test saw those too."""

    def __init__(self) -> None:
        self.first_seen = threading.Event()
        self.flushed_seen = threading.Event()

    def run(self, payload: Mapping[str, Any], cancel: threading.Event) -> Execution:
        raise AssertionError("the miner calls execute")

    def execute(
        self, payload: Mapping[str, Any], cancel: threading.Event, context: JobContext
    ) -> Execution:
        context.emit({"i": 0})
        if not self.first_seen.wait(30):  # events set by the test; 30 s only bound a bug
            raise AssertionError("the first chunk was not posted at once")
        for i in range(1, 5):
            context.emit({"i": i})
        context.flush()
        if not self.flushed_seen.wait(30):
            raise AssertionError("the flushed chunks were held for the interval")
        context.emit({"i": 5})  # after a flush, chunks are not paced either
        return Execution(result={"emitted": 6}, units=1)


async def test_flush_posts_the_pending_chunks_before_the_executor_returns(
    world: World,
) -> None:
    # A minute between posts: without the flush, chunks 1-4 would wait for the return.
    executor = FlushThenWait()
    plugins = {"echo": executor}
    async with running_miner(world.node.url, world.miner.key, plugins, output_interval=60):
        created = await world.alice.client.jobs.create(job_type="echo", payload={}, price=10)
        seen: list[Any] = []
        async with asyncio.timeout(60):  # a bound for a regression, not a timing
            async for item in world.alice.client.jobs.stream(created.id):
                seen.append(item)
                if isinstance(item, OutputChunk) and item.chunk == {"i": 0}:
                    executor.first_seen.set()
                if isinstance(item, OutputChunk) and item.chunk == {"i": 4}:
                    executor.flushed_seen.set()  # the executor is still running here
    chunks = [c.chunk for c in seen if isinstance(c, OutputChunk)]
    assert chunks == [{"i": i} for i in range(6)]
    assert isinstance(seen[-1], JobResult)
    assert seen[-1].result["output"] == summary(6, chain_of(chunks))
    assert executor.flushed_seen.is_set()
