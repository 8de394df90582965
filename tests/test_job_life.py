"""The whole life of a job over real HTTP against a real node on a loopback port, on
SQLite and on PostgreSQL: keys, faucet, offer, job, miner claim, result, receipt
verified, miner paid, client charged exactly once."""

from __future__ import annotations

from typing import Any

import pytest

from aitbc import AITBCClient, HTTPTransport
from aitbc.core.canonical import content_hash
from aitbc.core.receipts import verify_receipt
from aitbc.core.signing import VerifyKey
from aitbc.errors import ReceiptVerificationError
from aitbc.models import JobState
from miner.helpers import client_for, running_miner

FUNDS, PRICE_PER_UNIT, UNITS = 10_000, 40, 5
PRICE = PRICE_PER_UNIT * UNITS


async def _admin_setup(url: str, admin_key: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Create a client and a miner through the admin API and fund the client."""
    headers = {"X-API-Key": admin_key}
    async with HTTPTransport({"base_url": url, "default_headers": headers}) as admin:
        alice = await admin.request(
            "POST", "/v1/admin/principals", {"role": "client", "name": "alice"}
        )
        bob = await admin.request("POST", "/v1/admin/principals", {"role": "miner", "name": "bob"})
        mint = await admin.request(
            "POST",
            "/v1/admin/faucet",
            {"account_id": alice["principal"]["id"], "amount": str(FUNDS)},
        )
    assert mint["kind"] == "mint" and mint["amount"] == str(FUNDS)
    return alice, bob


async def _history(client: AITBCClient, job_id: str) -> list[tuple[str, int]]:
    return sorted([(t.kind, t.amount) async for t in client.wallet.history() if t.job_id == job_id])


@pytest.fixture(params=["node", pytest.param("pg_node", marks=pytest.mark.postgres)])
def any_node(request: pytest.FixtureRequest) -> Any:
    """The same node on SQLite and on PostgreSQL."""
    return request.getfixturevalue(request.param)


async def test_job_life(any_node: Any) -> None:
    url = any_node.url
    alice, bob = await _admin_setup(url, any_node.admin_key)
    async with (
        client_for(url, alice["api_key"]) as client,
        client_for(url, bob["api_key"]) as provider,
        running_miner(url, bob["api_key"]) as miner,
    ):
        offer = await provider.marketplace.create_offer(
            capacity=4, price_per_unit=PRICE_PER_UNIT, models=[], region="eu"
        )
        found = [o async for o in client.marketplace.list_offers(region="eu")]
        assert [o.id for o in found] == [offer.id] and found[0].provider_id == miner.miner_id

        body = {"job_type": "matmul", "payload": {"seed": 42, "n": 8}}
        job = await client.jobs.create(
            body, price=PRICE, constraints={"max_price": PRICE}, idempotency_key="life-1"
        )
        again = await client.jobs.create(
            body, price=PRICE, constraints={"max_price": PRICE}, idempotency_key="life-1"
        )
        assert again.id == job.id  # a retried create is the same job, charged once

        done = await client.jobs.wait_for_completion(job.id, timeout=60)
        assert done.state is JobState.COMPLETED and done.miner_id == miner.miner_id
        result = await client.jobs.result(job.id)
        assert result.result["rows"] == 8 and len(result.result["c"]) == 8

        receipt = (await client.receipts.get(done.receipt_id or "")).to_wire()
        assert receipt == result.receipt.to_wire()
        assert await client.receipts.verify(receipt)
        info = await client.node_info()
        keys = {k.key_id: VerifyKey.from_b64(k.public_key) for k in info.signing_keys}
        verify_receipt(receipt, keys, chain_id=any_node.chain_id)
        assert receipt["input_hash"] == content_hash(body["payload"])
        assert receipt["output_hash"] == content_hash(result.result)
        assert receipt["price"] == str(PRICE) and receipt["miner_id"] == miner.miner_id
        assert "payload" not in receipt and "result" not in receipt
        with pytest.raises(ReceiptVerificationError):
            verify_receipt({**receipt, "units": receipt["units"] + 1}, keys)

        assert (await client.wallet.balance()).balance == FUNDS - PRICE
        assert (await provider.wallet.balance()).balance == PRICE
        assert await _history(client, job.id) == [("escrow", PRICE)]  # charged exactly once
        assert await _history(provider, job.id) == [("payout", PRICE)]
    assert miner.stats.completed == 1 and miner.stats.bad_receipts == 0
