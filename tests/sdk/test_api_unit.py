"""What the resource APIs send and how they read answers (client-side logic only)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from aitbc import AITBCClient, MockRequest, MockTransport
from aitbc.core.signing import SigningKey
from aitbc.errors import (
    ConfigurationError,
    ProtocolError,
    ReceiptVerificationError,
    WaitTimeoutError,
)

from .fakes import NOW, info, job, signed_receipt

Route = Callable[[MockRequest], dict[str, Any] | None]


def client_with(route: Route, node_info: dict[str, Any] | None = None) -> AITBCClient:
    def handler(request: MockRequest) -> dict[str, Any] | None:
        if request.path == "/v1/info":
            return node_info or info()
        return route(request)

    return AITBCClient(MockTransport(handler))


def sent(client: AITBCClient) -> list[MockRequest]:
    transport = client.transport
    assert isinstance(transport, MockTransport)
    return [r for r in transport.requests if r.path != "/v1/info"]


async def test_create_job_sends_money_as_strings_and_an_idempotency_key() -> None:
    client = client_with(lambda r: job())
    created = await client.jobs.create(
        {"job_type": "echo", "payload": {}, "constraints": {"max_price": 150}}, price=100
    )
    assert created["id"] == "job_1"
    request = sent(client)[0]
    assert (request.method, request.path) == ("POST", "/v1/jobs")
    assert request.data == {
        "job_type": "echo",
        "payload": {},
        "constraints": {"max_price": "150"},
        "price": "100",
    }
    assert re.fullmatch(r"[0-9a-f]{32}", request.header("Idempotency-Key") or "")
    await client.jobs.create(job_type="echo", price="5", idempotency_key="mine")
    assert sent(client)[1].header("Idempotency-Key") == "mine"
    keys = {r.header("Idempotency-Key") for r in sent(client)}
    assert len(keys) == 2


@pytest.mark.parametrize("price", [1.5, -1, True, "1.0", None])
async def test_bad_money_is_refused_before_anything_is_sent(price: object) -> None:
    client = client_with(lambda r: job())
    with pytest.raises(ConfigurationError):
        await client.jobs.create(job_type="echo", price=price)
    with pytest.raises(ConfigurationError):
        await client.wallet.transfer("prn_x", price)  # type: ignore[arg-type]
    assert sent(client) == []


async def test_ids_are_quoted_into_paths_and_empty_ids_refused() -> None:
    client = client_with(lambda r: job())
    await client.jobs.get("job/../x")
    assert sent(client)[0].path == "/v1/jobs/job%2F..%2Fx"
    with pytest.raises(ConfigurationError):
        await client.jobs.cancel("")


def paged(items: list[dict[str, Any]], size: int) -> Route:
    def route(request: MockRequest) -> dict[str, Any]:
        start = int(request.params.get("cursor", "0"))
        end = start + size
        return {"items": items[start:end], "next_cursor": str(end) if end < len(items) else None}

    return route


async def test_list_iterates_across_pages_lazily() -> None:
    jobs = [job(f"job_{i}") for i in range(5)]
    client = client_with(paged(jobs, 2))
    assert [j.id async for j in client.jobs.list(state="QUEUED", limit=2)] == [
        f"job_{i}" for i in range(5)
    ]
    assert [r.params.get("cursor") for r in sent(client)] == [None, "2", "4"]
    assert sent(client)[0].params == {"state": "QUEUED", "limit": "2"}
    first_three = await client.jobs.list().to_list(3)
    assert [j.id for j in first_three] == ["job_0", "job_1", "job_2"]
    assert len(sent(client)) == 5  # the third page was never fetched for to_list(3)
    pages = [len(p) async for p in client.jobs.list().pages()]
    assert pages == [2, 2, 1]


async def test_a_repeating_cursor_is_a_protocol_error() -> None:
    client = client_with(lambda r: {"items": [job()], "next_cursor": "same"})
    with pytest.raises(ProtocolError, match="repeated"):
        await client.jobs.list().to_list()


async def test_an_unreadable_answer_is_a_protocol_error() -> None:
    client = client_with(lambda r: {"id": "job_1"})
    with pytest.raises(ProtocolError, match="unexpected job"):
        await client.jobs.get("job_1")


async def test_wait_for_completion_polls_until_final() -> None:
    states = iter(["QUEUED", "RUNNING", "RUNNING", "COMPLETED"])
    client = client_with(lambda r: job(state=next(states)))
    final = await client.jobs.wait_for_completion("job_1", timeout=10, poll_interval=0.001)
    assert final.state == "COMPLETED"
    assert len(sent(client)) == 4


async def test_wait_for_completion_always_has_a_deadline() -> None:
    client = client_with(lambda r: job(state="RUNNING"))
    with pytest.raises(WaitTimeoutError):
        await client.jobs.wait_for_completion("job_1", timeout=0.05, poll_interval=0.01)
    for bad in (0, -1, float("inf")):
        with pytest.raises(ConfigurationError):
            await client.jobs.wait_for_completion("job_1", timeout=bad)


async def test_result_and_receipt_verification_against_published_keys() -> None:
    coordinator = SigningKey.generate()
    receipt = signed_receipt(coordinator)
    result = {"job_id": "job_1", "state": "COMPLETED", "result": {"y": 2}, "receipt": receipt}
    client = client_with(lambda r: result, node_info=info(key=coordinator))
    got = await client.jobs.result("job_1")
    assert got.result == {"y": 2}
    assert await client.receipts.verify(got.receipt)
    assert await client.receipts.verify(receipt)  # a plain dict works too
    info_calls = [r for r in client.transport.requests if r.path == "/v1/info"]  # type: ignore[attr-defined]
    assert len(info_calls) == 1  # keys fetched once, then cached


async def test_receipt_signed_by_another_key_or_tampered_fails() -> None:
    published = SigningKey.generate()
    client = client_with(lambda r: None, node_info=info(key=published))
    with pytest.raises(ReceiptVerificationError, match="unknown key"):
        await client.receipts.verify(signed_receipt(SigningKey.generate()))
    tampered = signed_receipt(published)
    tampered["price"] = "1"
    with pytest.raises(ReceiptVerificationError):
        await client.receipts.verify(tampered)
    with pytest.raises(ReceiptVerificationError, match="chain"):
        await client.receipts.verify(signed_receipt(published, chain_id=8))


async def test_wallet_calls() -> None:
    transfer = {
        "id": "txn_1",
        "from_account": "prn_c",
        "to_account": "prn_d",
        "amount": "10",
        "kind": "transfer",
        "job_id": None,
        "memo": "hi",
        "created_at": NOW,
    }

    def route(request: MockRequest) -> dict[str, Any]:
        if request.path == "/v1/wallet/balance":
            return {"account_id": "prn_c", "balance": "90", "escrowed": "0"}
        if request.path == "/v1/wallet/history":
            return {"items": [transfer], "next_cursor": None}
        return transfer

    client = client_with(route)
    assert (await client.wallet.balance()).balance == 90
    moved = await client.wallet.transfer("prn_d", 10, memo="hi")
    assert moved.amount == 10
    request = sent(client)[1]
    assert request.data == {"to": "prn_d", "amount": "10", "memo": "hi"}
    assert request.header("Idempotency-Key")
    assert [t.id async for t in client.wallet.history()] == ["txn_1"]


async def test_marketplace_calls() -> None:
    offer = {
        "id": "ofr_1",
        "provider_id": "prn_m",
        "capacity": 4,
        "price_per_unit": "10",
        "models": ["llama"],
        "region": "eu",
        "gpu_memory_gb": 24,
        "state": "open",
        "created_at": NOW,
    }
    bid = {
        "id": "bid_1",
        "offer_id": "ofr_1",
        "client_id": "prn_c",
        "units": 2,
        "price_per_unit": "10",
        "state": "open",
        "created_at": NOW,
    }
    stats = {
        "open_offers": 1,
        "open_capacity": 4,
        "active_bids": 1,
        "min_price": "10",
        "max_price": "10",
        "avg_price": "10",
        "models": {},
    }

    def route(request: MockRequest) -> dict[str, Any]:
        if request.path.endswith("/stats"):
            return stats
        if "bids" in request.path:
            return {"items": [bid], "next_cursor": None} if request.method == "GET" else bid
        return {"items": [offer], "next_cursor": None} if request.method == "GET" else offer

    client = client_with(route)
    offers = await client.marketplace.list_offers(model="llama", max_price=12).to_list()
    assert offers[0].price_per_unit == 10
    assert sent(client)[0].params == {"model": "llama", "max_price": "12"}
    await client.marketplace.create_offer(capacity=4, price_per_unit=10)
    assert sent(client)[1].data == {"capacity": 4, "price_per_unit": "10"}
    assert (await client.marketplace.close_offer("ofr_1")).id == "ofr_1"
    assert (
        await client.marketplace.create_bid(offer_id="ofr_1", units=2, price_per_unit=10)
    ).units == 2
    assert [b.id async for b in client.marketplace.list_bids()] == ["bid_1"]
    assert (await client.marketplace.cancel_bid("bid_1")).id == "bid_1"
    assert (await client.marketplace.stats()).open_capacity == 4
    assert [r.path for r in sent(client)[2:]] == [
        "/v1/marketplace/offers/ofr_1/close",
        "/v1/marketplace/bids",
        "/v1/marketplace/bids",
        "/v1/marketplace/bids/bid_1/cancel",
        "/v1/marketplace/stats",
    ]
