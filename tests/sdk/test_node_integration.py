"""Every API method against a real node (uvicorn on a loopback port, SQLite)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from aitbc import AITBCClient, HTTPTransport
from aitbc.core.receipts import sign_receipt
from aitbc.core.signing import SigningKey
from aitbc.errors import (
    AuthenticationError,
    ConflictError,
    InsufficientFundsError,
    NetworkMismatchError,
    NotFoundError,
    NotReadyError,
    PermissionDeniedError,
    ReceiptVerificationError,
    ValidationError,
)
from aitbc.models import Job, Receipt

from .nodekit import ECHO_JOB, EchoMiner, Parties, parties


@pytest.fixture
async def env(node: Any) -> Parties:
    return await parties(node)


async def test_node_info_is_read_on_connect(env: Parties, node: Any) -> None:
    async with env.client(chain_id=1) as client:
        info = await client.node_info()
    assert info.chain_id == 1
    assert info.verify_keys()


async def test_a_node_on_another_chain_is_refused(env: Parties) -> None:
    client = env.client(chain_id=5)
    with pytest.raises(NetworkMismatchError, match="chain 1"):
        await client.connect()
    assert not client.transport.is_connected


async def test_job_lifecycle_result_and_receipt(env: Parties) -> None:
    async with env.client() as client, EchoMiner(env) as miner:
        job = await client.jobs.create(ECHO_JOB)
        assert (job.state, job.price, job.client_id) == ("QUEUED", 100, env.client_id)
        assert (await client.jobs.get(job.id)).id == job.id
        with pytest.raises(NotReadyError):
            await client.jobs.result(job.id)
        waiter = asyncio.create_task(client.jobs.wait_for_completion(job.id, timeout=30))
        await miner.complete_one()
        done = await waiter
        assert done.state == "COMPLETED"
        result = await client.jobs.result(job.id)
        assert result.result == {"echo": {"text": "hello"}}
        assert await client.receipts.verify(result.receipt)
        fetched = await client.receipts.get(result.receipt.receipt_id)
        assert isinstance(fetched, Receipt)
        assert await client.receipts.verify(fetched)
        with pytest.raises(ConflictError):
            await client.jobs.cancel(job.id)


async def test_receipt_signed_by_another_key_fails(env: Parties) -> None:
    async with env.client() as client, EchoMiner(env) as miner:
        await client.jobs.create(ECHO_JOB)
        receipt = await miner.complete_one()
        assert await client.receipts.verify(receipt)
        forged = sign_receipt(SigningKey.generate(), receipt)
        with pytest.raises(ReceiptVerificationError):
            await client.receipts.verify(forged)


async def test_cancel_refunds_and_list_pages(env: Parties) -> None:
    async with env.client() as client:
        created = [await client.jobs.create(ECHO_JOB) for _ in range(3)]
        assert (await client.wallet.balance()).escrowed == 300
        canceled = await client.jobs.cancel(created[0].id)
        assert canceled.state == "CANCELED"
        balance = await client.wallet.balance()
        assert (balance.balance, balance.escrowed) == (9_800, 200)
        listed = [j.id async for j in client.jobs.list(limit=1)]
        assert listed == [j.id for j in reversed(created)]  # newest first, one per page
        queued = await client.jobs.list(state="QUEUED").to_list()
        assert {j.id for j in queued} == {created[1].id, created[2].id}
        assert all(isinstance(j, Job) for j in queued)


async def test_job_create_with_a_reused_key_is_created_and_charged_once(env: Parties) -> None:
    async with env.client() as client:
        first = await client.jobs.create(ECHO_JOB, idempotency_key="same-key")
        again = await client.jobs.create(ECHO_JOB, idempotency_key="same-key")
        assert again.id == first.id
        assert (await client.wallet.balance()).balance == 9_900
        with pytest.raises(ConflictError) as info:
            await client.jobs.create({**ECHO_JOB, "price": 5}, idempotency_key="same-key")
        assert info.value.code == "idempotency_key_reused"


async def test_api_errors_from_the_node(env: Parties) -> None:
    async with env.client() as client:
        with pytest.raises(NotFoundError) as info:
            await client.jobs.get("job_missing")
        assert info.value.code == "job_not_found"
        assert info.value.request_id
        with pytest.raises(InsufficientFundsError):
            await client.jobs.create({**ECHO_JOB, "price": 10**9})
        with pytest.raises(ValidationError) as invalid:
            await client.jobs.create({**ECHO_JOB, "unknown_field": 1})
        assert invalid.value.details
        with pytest.raises(PermissionDeniedError):
            await client.marketplace.create_offer(capacity=1, price_per_unit=1)
    async with AITBCClient({"base_url": env.url}) as anonymous:
        with pytest.raises(AuthenticationError):
            await anonymous.wallet.balance()


async def test_wallet_balance_transfer_history(env: Parties) -> None:
    async with env.client() as client:
        moved = await client.wallet.transfer(env.miner_id, 250, memo="thanks")
        assert (moved.amount, moved.to_account, moved.kind) == (250, env.miner_id, "transfer")
        replay = await client.wallet.transfer(env.miner_id, 250, idempotency_key="t1")
        again = await client.wallet.transfer(env.miner_id, 250, idempotency_key="t1")
        assert replay.id == again.id
        assert (await client.wallet.balance()).balance == 10_000 - 500
        kinds = [t.kind async for t in client.wallet.history(limit=2)]
        assert kinds == ["transfer", "transfer", "mint"]
        with pytest.raises(InsufficientFundsError):
            await client.wallet.transfer(env.miner_id, 10**6)


async def test_marketplace_offers_bids_and_stats(env: Parties) -> None:
    async with env.miner_client() as miner, env.client() as client:
        offer = await miner.marketplace.create_offer(
            capacity=4, price_per_unit=10, models=["llama"], region="eu", gpu_memory_gb=24
        )
        other = await miner.marketplace.create_offer(capacity=1, price_per_unit=50)
        cheap = await client.marketplace.list_offers(max_price=20).to_list()
        assert [o.id for o in cheap] == [offer.id]
        by_model = await client.marketplace.list_offers(model="llama", region="eu").to_list()
        assert [o.id for o in by_model] == [offer.id]
        assert len(await client.marketplace.list_offers(min_capacity=2).to_list()) == 1
        bid = await client.marketplace.create_bid(offer_id=offer.id, units=2, price_per_unit=10)
        assert (bid.state, bid.units) == ("open", 2)
        assert [b.id async for b in client.marketplace.list_bids()] == [bid.id]
        assert [b.id async for b in miner.marketplace.list_bids()] == [bid.id]
        stats = await client.marketplace.stats()
        assert (stats.open_offers, stats.open_capacity, stats.active_bids) == (2, 5, 1)
        assert (stats.min_price, stats.max_price) == (10, 50)
        assert (await client.marketplace.cancel_bid(bid.id)).state == "canceled"
        assert (await miner.marketplace.close_offer(other.id)).state == "closed"
        assert [o.id async for o in client.marketplace.list_offers()] == [offer.id]


async def test_transport_against_the_node_directly(env: Parties) -> None:
    transport = HTTPTransport(
        {"base_url": env.url, "default_headers": {"X-API-Key": env.client_key}}
    )
    async with transport:
        me = await transport.request("GET", "/v1/me")
        assert me["id"] == env.client_id
