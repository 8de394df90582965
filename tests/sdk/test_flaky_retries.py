"""Retries and idempotency through a real flaky proxy in front of a real node.

The proxy answers 503/429 with Retry-After, drops connections before forwarding, and
drops them after the node has acted (the nastiest case: the job exists, the client never
heard). Whatever happens, a job or transfer is created once and charged once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from aitbc import AITBCClient, HTTPTransport
from aitbc.errors import ConnectionClosed

from .nodekit import ECHO_JOB, Parties, parties
from .servers import Faults, flaky_proxy_app, serve


@dataclass
class Flaky:
    env: Parties
    faults: Faults
    proxy_url: str

    def client(self, **config: Any) -> AITBCClient:
        return AITBCClient(self.transport(**config))

    def transport(self, **config: Any) -> HTTPTransport:
        base = {
            "base_url": self.proxy_url,
            "default_headers": {"X-API-Key": self.env.client_key},
            "backoff_base": 0.01,
            "max_retries": 6,
            "timeout": 30,
        }
        return HTTPTransport({**base, **config})


@pytest.fixture(params=["node", "pg_node"])
def any_node(request: pytest.FixtureRequest) -> Any:
    """The node on SQLite, then on PostgreSQL (idempotency is a database matter)."""
    return request.getfixturevalue(request.param)


async def _flaky(node: Any) -> AsyncIterator[Flaky]:
    env = await parties(node)
    faults = Faults()
    async with serve(flaky_proxy_app(node.url, faults)) as proxy_url:
        yield Flaky(env, faults, proxy_url)


@pytest.fixture
async def flaky_any(any_node: Any) -> AsyncIterator[Flaky]:
    """A flaky proxy in front of the node, on SQLite and on PostgreSQL."""
    async for value in _flaky(any_node):
        yield value


@pytest.fixture
async def flaky(node: Any) -> AsyncIterator[Flaky]:
    """A flaky proxy in front of the node on SQLite."""
    async for value in _flaky(node):
        yield value


def arm(faults: Faults) -> None:
    faults.status_503 = faults.status_429 = faults.drop_before = faults.drop_after = 1


def all_fired(faults: Faults) -> bool:
    return not (faults.status_503 or faults.status_429 or faults.drop_before or faults.drop_after)


async def test_job_created_through_flaky_retries_exists_once(flaky_any: Flaky) -> None:
    flaky = flaky_any
    async with flaky.client() as client:
        arm(flaky.faults)
        job = await client.jobs.create(ECHO_JOB)
        jobs = await client.jobs.list().to_list()
        balance = await client.wallet.balance()
    assert all_fired(flaky.faults)
    posts = [f for f in flaky.faults.forwarded if f[0] == "POST"]
    assert len(posts) == 2  # the dropped-after attempt and the replayed one reached the node
    assert len({key for _, _, key in posts}) == 1  # one key for every retry
    assert [j.id for j in jobs] == [job.id]
    assert (balance.balance, balance.escrowed) == (9_900, 100)


async def test_transfer_through_flaky_retries_moves_money_once(flaky_any: Flaky) -> None:
    flaky = flaky_any
    async with flaky.client() as client:
        arm(flaky.faults)
        moved = await client.wallet.transfer(flaky.env.miner_id, 40)
        history = await client.wallet.history().to_list()
        balance = await client.wallet.balance()
    assert all_fired(flaky.faults)
    assert [t.id for t in history if t.kind == "transfer"] == [moved.id]
    assert balance.balance == 9_960


async def test_gets_survive_every_fault(flaky: Flaky) -> None:
    async with flaky.client() as client:
        arm(flaky.faults)
        assert (await client.wallet.balance()).balance == 10_000
    assert all_fired(flaky.faults)


async def test_without_retries_a_lost_answer_surfaces_and_a_manual_retry_is_safe(
    flaky: Flaky,
) -> None:
    async with flaky.client(max_retries=0) as client:
        flaky.faults.drop_after = 1
        with pytest.raises(ConnectionClosed):
            await client.jobs.create(ECHO_JOB, idempotency_key="order-42")
        job = await client.jobs.create(ECHO_JOB, idempotency_key="order-42")
        assert [j.id for j in await client.jobs.list().to_list()] == [job.id]
        assert (await client.wallet.balance()).balance == 9_900


async def test_post_without_idempotency_key_is_never_resent(flaky: Flaky) -> None:
    async with flaky.transport() as transport:
        flaky.faults.drop_after = 1
        with pytest.raises(ConnectionClosed):
            await transport.request(
                "POST", "/v1/wallet/transfer", {"to": flaky.env.miner_id, "amount": "5"}
            )
    assert len([f for f in flaky.faults.forwarded if f[0] == "POST"]) == 1
