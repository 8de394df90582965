"""Rate limits shared by every worker through Redis: the same bucket answers as in memory,
one budget across two nodes, and a per-worker fallback while Redis is unreachable.

Time moves by a fake clock handed to the buckets; nothing sleeps.
"""

from __future__ import annotations

import random

import pytest

from aitbc.node.embedded import run_node
from aitbc.node.rate_limit import Limit, RedisTokenBuckets, TokenBuckets

from .support import Actor, make_actor


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.mark.redis
async def test_redis_buckets_answer_like_memory_buckets(redis_url: str, redis_prefix: str) -> None:
    clock = FakeClock()
    shared = RedisTokenBuckets(redis_url, prefix=redis_prefix + ":", clock=clock)
    local = TokenBuckets(clock=clock)
    limit = Limit(rate=2, burst=3)
    rng = random.Random(12)
    try:
        for _ in range(60):
            key = rng.choice(["a", "b"])
            assert await shared.take(key, limit) == pytest.approx(local.take(key, limit))
            clock.now += rng.choice([0.0, 0.0, 0.1, 0.25, 0.5, 2.0])
    finally:
        await shared.aclose()


@pytest.mark.redis
async def test_a_clock_behind_the_stamp_refills_nothing(redis_url: str, redis_prefix: str) -> None:
    clock = FakeClock()
    buckets = RedisTokenBuckets(redis_url, prefix=redis_prefix + ":", clock=clock)
    limit = Limit(rate=1, burst=1)
    try:
        assert await buckets.take("k", limit) == 0.0
        clock.now -= 5  # another worker's clock, a little behind
        assert await buckets.take("k", limit) == pytest.approx(1.0)
    finally:
        await buckets.aclose()


async def test_unreachable_redis_falls_back_to_memory_buckets() -> None:
    clock = FakeClock()
    buckets = RedisTokenBuckets("redis://127.0.0.1:1/0", clock=clock)  # nothing listens
    limit = Limit(rate=1, burst=2)
    try:
        assert [await buckets.take("k", limit) for _ in range(3)] == [0.0, 0.0, 1.0]
    finally:
        await buckets.aclose()


@pytest.mark.postgres
@pytest.mark.redis
async def test_two_workers_share_one_budget(postgres_url: str, redis_url: str) -> None:
    settings = {"redis_url": redis_url, "client_rate_per_second": 1, "client_burst": 3}
    async with (
        run_node(postgres_url, **settings) as first,
        run_node(postgres_url, admin_key=first.admin_key, **settings) as second,
    ):
        clock = FakeClock()
        for node in (first, second):
            node.app.state.rate_buckets.clock = clock
        alice = await make_actor(first, "client", "alice")

        alice_there = Actor(second.url, alice.http.headers["X-API-Key"], alice.id)
        try:
            await alice.ok("GET", "/v1/me")
            await alice_there.ok("GET", "/v1/me")
            await alice.ok("GET", "/v1/me")
            # in memory each worker would allow three; together they allowed three
            await alice_there.err("GET", "/v1/me", 429, "rate_limited")
            await alice.err("GET", "/v1/me", 429, "rate_limited")
            clock.now += 1
            await alice_there.ok("GET", "/v1/me")
            await alice.err("GET", "/v1/me", 429, "rate_limited")
        finally:
            await alice.aclose()
            await alice_there.aclose()
