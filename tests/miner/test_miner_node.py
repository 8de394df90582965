"""The miner against a real node over real HTTP: claim, run, attest, submit, get paid;
failures refund the client."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Mapping
from typing import Any

from aitbc.core.receipts import verify_receipt
from aitbc.core.signing import VerifyKey
from aitbc.miner import Execution, Executor
from aitbc.models import JobState

from .helpers import client_for, running_miner, until
from .tcp_proxy import TcpProxy


def _chain(data: str, rounds: int) -> str:
    digest = hashlib.sha256(data.encode()).digest()
    for _ in range(rounds - 1):
        digest = hashlib.sha256(digest).digest()
    return digest.hex()


async def test_miner_runs_job_and_receipt_verifies(node: Any) -> None:
    client_id, client_key = await node.create_principal("client", "alice")
    miner_principal, miner_key = await node.create_principal("miner", "bob")
    await node.faucet(client_id, 1_000)
    async with (
        running_miner(node.url, miner_key) as miner,
        client_for(node.url, client_key) as client,
    ):
        assert miner.miner_id == miner_principal
        job = await client.jobs.create(
            job_type="sha256", payload={"data": "aitbc", "rounds": 4321}, price=250
        )
        done = await client.jobs.wait_for_completion(job.id, timeout=30)
        assert done.state is JobState.COMPLETED and done.miner_id == miner_principal
        result = await client.jobs.result(job.id)
        assert result.result == {"digest": _chain("aitbc", 4321), "rounds": 4321}
        receipt = result.receipt.to_wire()
        info = await client.node_info()
        keys = {k.key_id: VerifyKey.from_b64(k.public_key) for k in info.signing_keys}
        verify_receipt(receipt, keys, chain_id=info.chain_id)
        assert receipt["miner_key"] == miner.key.verify_key.b64
        assert receipt["units"] == 5  # 4321 rounds, one unit per thousand, rounded up
        assert (await client.wallet.balance()).balance == 750
    async with client_for(node.url, miner_key) as as_miner:
        assert (await as_miner.wallet.balance()).balance == 250
    assert miner.stats.completed == 1 and miner.stats.receipts[0]["job_id"] == job.id


async def test_failure_is_reported_and_refunds_the_client(node: Any) -> None:
    client_id, client_key = await node.create_principal("client", "alice")
    _, miner_key = await node.create_principal("miner", "bob")
    await node.faucet(client_id, 500)
    async with (
        running_miner(node.url, miner_key, executors=["matmul"]) as miner,
        client_for(node.url, client_key) as client,
    ):
        job = await client.jobs.create(
            job_type="matmul", payload={"a": [[1, 2]], "b": [[3, 4]]}, price=200
        )
        done = await client.jobs.wait_for_completion(job.id, timeout=30)
        assert done.state is JobState.FAILED
        assert done.error is not None and "inner dimensions" in done.error
        assert (await client.wallet.balance()).balance == 500
        moves = [(t.kind, t.amount) async for t in client.wallet.history() if t.job_id == job.id]
        assert sorted(moves) == [("escrow", 200), ("refund", 200)]
    assert miner.stats.failed == 1 and miner.stats.completed == 0


class Oversized(Executor):
    """Returns more than the node below accepts in one body."""

    def run(self, payload: Mapping[str, Any], cancel: threading.Event) -> Execution:
        return Execution(result={"blob": "x" * 100_000}, units=1)


async def test_result_the_node_refuses_fails_the_job_and_refunds(node_factory: Any) -> None:
    # A small body limit: the node answers 413 without the client streaming megabytes.
    node = await node_factory(max_body_bytes=65_536)
    client_id, client_key = await node.create_principal("client", "alice")
    _, miner_key = await node.create_principal("miner", "bob")
    await node.faucet(client_id, 100)
    async with (
        running_miner(node.url, miner_key, {"big": Oversized()}) as miner,
        client_for(node.url, client_key) as client,
    ):
        job = await client.jobs.create(job_type="big", payload={}, price=100)
        done = await client.jobs.wait_for_completion(job.id, timeout=30)
        assert done.state is JobState.FAILED
        assert done.error is not None and "node rejected the result" in done.error
        assert (await client.wallet.balance()).balance == 100
    assert miner.stats.failed == 1 and miner.stats.completed == 0


async def test_miner_serves_only_its_job_types_and_several_at_once(node: Any) -> None:
    client_id, client_key = await node.create_principal("client", "alice")
    _, miner_key = await node.create_principal("miner", "bob")
    await node.faucet(client_id, 1_000)
    async with (
        running_miner(node.url, miner_key, executors=["echo"], max_concurrency=3) as miner,
        client_for(node.url, client_key) as client,
    ):
        other = await client.jobs.create(job_type="matmul", payload={"seed": 1, "n": 2}, price=1)
        jobs = [
            await client.jobs.create(job_type="echo", payload={"i": i}, price=10) for i in range(5)
        ]
        for job in jobs:
            assert (await client.jobs.wait_for_completion(job.id, timeout=30)).is_terminal
            assert (await client.jobs.result(job.id)).result == {"echo": job.payload}
        assert (await client.jobs.get(other.id)).state is JobState.QUEUED
        await until(lambda: miner.stats.completed == 5)


async def test_miner_survives_the_node_going_away_and_coming_back(node: Any) -> None:
    client_id, client_key = await node.create_principal("client", "alice")
    _, miner_key = await node.create_principal("miner", "bob")
    await node.faucet(client_id, 1_000)
    proxy = TcpProxy(int(node.url.rsplit(":", 1)[1]))
    await proxy.start()
    try:
        async with (
            running_miner(proxy.url, miner_key, poll_wait=0.5) as miner,
            client_for(node.url, client_key) as client,
        ):
            first = await client.jobs.create(job_type="echo", payload={"n": 1}, price=10)
            await client.jobs.wait_for_completion(first.id, timeout=30)
            await proxy.stop()  # the node vanishes mid long-poll
            second = await client.jobs.create(job_type="echo", payload={"n": 2}, price=10)
            await asyncio.sleep(1.0)  # several failed polls, with backoff
            assert (await client.jobs.get(second.id)).state is JobState.QUEUED
            await proxy.start()
            done = await client.jobs.wait_for_completion(second.id, timeout=30)
            assert done.state is JobState.COMPLETED and done.miner_id == miner.miner_id
    finally:
        await proxy.stop()
    assert miner.stats.completed == 2


async def test_heartbeats_keep_a_long_job_leased(node_factory: Any) -> None:
    short_leases = await node_factory(lease_seconds=1.0)
    client_id, client_key = await short_leases.create_principal("client", "alice")
    _, miner_key = await short_leases.create_principal("miner", "bob")
    await short_leases.faucet(client_id, 100)
    async with (
        running_miner(short_leases.url, miner_key) as miner,
        client_for(short_leases.url, client_key) as client,
    ):
        # Several leases long: only heartbeats (every third of a lease) keep it ours.
        job = await client.jobs.create(
            job_type="sha256", payload={"data": "long", "rounds": 3_000_000}, price=100
        )
        done = await client.jobs.wait_for_completion(job.id, timeout=60)
        assert done.state is JobState.COMPLETED
        assert done.attempts == 0  # never requeued
        receipt = (await client.jobs.result(job.id)).receipt
        assert receipt.completed_at and receipt.started_at
        assert (receipt.completed_at - receipt.started_at).total_seconds() > 1.0
    assert miner.heartbeat_interval() < 0.5 and miner.stats.lost == 0
