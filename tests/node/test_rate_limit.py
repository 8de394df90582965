"""Rate limits: per principal and per route class, 429 with Retry-After and the envelope."""

from __future__ import annotations

from typing import Any

import httpx

from aitbc import AITBCClient, HTTPTransport
from aitbc.node.rate_limit import Limit, TokenBuckets, route_class

from .support import TestMiner, make_actor


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_refills_at_its_rate_up_to_its_burst() -> None:
    clock = FakeClock()
    buckets = TokenBuckets(clock=clock)
    limit = Limit(rate=2, burst=3)
    assert [buckets.take("a", limit) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a", limit) == 0.5  # one token comes every half second
    assert buckets.take("b", limit) == 0.0  # another principal has its own bucket
    clock.now += 0.5
    assert buckets.take("a", limit) == 0.0
    clock.now += 3600  # idle for an hour: no more than the burst is saved up
    assert [buckets.take("a", limit) for _ in range(4)][-1] > 0


def test_routes_fall_in_two_classes() -> None:
    assert route_class("/v1/miners/poll") == "miner"
    assert route_class("/v1/miners/jobs/job_x/result") == "miner"
    assert route_class("/v1/jobs") == "client"
    assert route_class("/v1/marketplace/offers") == "client"


async def test_over_the_limit_is_429_with_retry_after_and_miners_are_not_starved(
    node_factory: Any,
) -> None:
    node = await node_factory(
        client_rate_per_second=1, client_burst=2, miner_rate_per_second=1, miner_burst=2
    )
    clock = FakeClock()
    node.app.state.rate_buckets.clock = clock
    alice = await make_actor(node, "client", "alice")
    carol = await make_actor(node, "client", "carol")
    miner = await make_actor(node, "miner", "bob")
    assert isinstance(miner, TestMiner)
    try:
        await alice.ok("GET", "/v1/me")
        await alice.ok("GET", "/v1/me")
        response = await alice.http.get("/v1/me")
        assert response.status_code == 429
        assert response.headers["retry-after"] == "1"
        error = response.json()["error"]
        assert error["code"] == "rate_limited"
        assert error["request_id"] == response.headers["x-request-id"]
        # another principal, and the same principal's miner routes, are unaffected
        await carol.ok("GET", "/v1/me")
        await miner.register()
        assert await miner.poll() is None
        # unauthenticated requests outside /v1 (health, metrics) are never limited
        async with httpx.AsyncClient(base_url=node.url) as anonymous:
            for _ in range(5):
                assert (await anonymous.get("/health")).status_code == 200
        clock.now += 1
        await alice.ok("GET", "/v1/me")
        await alice.err("GET", "/v1/me", 429, "rate_limited")
    finally:
        for actor in (alice, carol, miner):
            await actor.aclose()


async def test_the_sdk_waits_out_a_429_and_succeeds(node_factory: Any) -> None:
    # A real clock here: the SDK really waits the Retry-After the node sends.
    node = await node_factory(client_rate_per_second=5, client_burst=1)
    client_id, key = await node.create_principal("client", "alice")
    await node.faucet(client_id, 7)
    transport = HTTPTransport({"base_url": node.url, "default_headers": {"X-API-Key": key}})
    async with AITBCClient(transport) as client:
        first = await client.wallet.balance()
        second = await client.wallet.balance()  # refused once with 429, then retried
    assert first.balance == second.balance == 7
    async with httpx.AsyncClient(base_url=node.url) as http:
        metrics = (await http.get("/metrics")).text
    refused = [
        line
        for line in metrics.splitlines()
        if line.startswith("aitbc_http_requests_total") and 'status="429"' in line
    ]
    assert refused and float(refused[0].rsplit(" ", 1)[1]) >= 1, metrics
