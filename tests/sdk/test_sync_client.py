"""The seed's single-network example and the API calls, through AITBCClient AND
SyncAITBCClient (parametrised), against a real node.

The node runs in the test's event loop, so the sync client is driven from a worker
thread (``asyncio.to_thread``): a sync client used while another event loop runs, which
is the case it must support. :class:`Both` gives the two clients one awaitable face.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from aitbc import AITBCClient, HTTPTransport, SyncAITBCClient
from aitbc.errors import ConflictError, NotFoundError, TransportClosedError
from aitbc.sync import SyncIterator, _SyncProxy

from .nodekit import ECHO_JOB, EchoMiner, Parties, parties


class Both:
    """``await both.jobs.create(...)`` on either client; iterators come back as lists."""

    def __init__(self, client: AITBCClient | SyncAITBCClient, path: tuple[str, ...] = ()) -> None:
        self._client = client
        self._path = path

    def __getattr__(self, name: str) -> Both:
        return Both(self._client, (*self._path, name))

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        target: Any = self._client
        for name in self._path:
            target = getattr(target, name)
        if isinstance(self._client, SyncAITBCClient):
            return await asyncio.to_thread(_sync_call, target, args, kwargs)
        result = target(*args, **kwargs)
        if hasattr(result, "__aiter__"):
            return [item async for item in result]
        return await result if asyncio.iscoroutine(result) else result


def _sync_call(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    result = target(*args, **kwargs)
    if isinstance(result, SyncIterator | _SyncProxy):  # a page or event iterator
        return list(result)
    return result


async def make(kind: str, *args: Any) -> AITBCClient | SyncAITBCClient:
    if kind == "sync":
        return await asyncio.to_thread(SyncAITBCClient, *args)
    return AITBCClient(*args)


async def close(client: AITBCClient | SyncAITBCClient) -> None:
    if isinstance(client, SyncAITBCClient):
        await asyncio.to_thread(client.close)
    else:
        await client.disconnect()


@pytest.fixture
async def env(node: Any) -> Parties:
    return await parties(node)


@pytest.fixture(params=["async", "sync"])
async def client(request: pytest.FixtureRequest, env: Parties) -> AsyncIterator[Both]:
    made = await make(
        request.param, {"base_url": env.url, "default_headers": {"X-API-Key": env.client_key}}
    )
    try:
        yield Both(made)
    finally:
        await close(made)


@pytest.mark.parametrize("kind", ["async", "sync"])
async def test_seed_single_network_example(kind: str, env: Parties) -> None:
    # the seed's example, as written (the sync client takes the same arguments)
    transport = HTTPTransport(
        {"base_url": env.url, "timeout": 30, "default_headers": {"X-API-Key": env.client_key}}
    )
    made = await make(kind, transport)
    client = Both(made)
    try:
        await client.connect()
        job = await client.jobs.create({"job_type": "echo", "payload": {"p": 1}, "price": 100})
        assert job["state"] == "QUEUED" and job["price"] == 100
        assert (await client.jobs.get(job["id"]))["id"] == job["id"]
    finally:
        await close(made)


async def test_jobs_pages_and_errors(client: Both) -> None:
    created = [await client.jobs.create(ECHO_JOB) for _ in range(3)]
    listed = await client.jobs.list(limit=2)  # two pages, walked by the iterator
    assert [j.id for j in listed] == [j.id for j in reversed(created)]
    cancelled = await client.jobs.cancel(created[0].id)
    assert cancelled.state == "CANCELED"
    with pytest.raises(ConflictError):
        await client.jobs.cancel(created[0].id)
    with pytest.raises(NotFoundError):
        await client.jobs.get("job_missing")


async def test_wallet_and_marketplace(client: Both, env: Parties) -> None:
    moved = await client.wallet.transfer(env.miner_id, 25)
    history = await client.wallet.history()
    assert [t.id for t in history if t.kind == "transfer"] == [moved.id]
    assert (await client.wallet.balance()).balance == 10_000 - 25
    stats = await client.marketplace.stats()
    assert stats is not None
    info = await client.node_info()
    assert info.chain_id == 1


async def test_job_events_and_receipt(client: Both, env: Parties) -> None:
    job = await client.jobs.create(ECHO_JOB)
    async with EchoMiner(env) as miner:
        await miner.complete_one()
    events = await until_completed(client, job.id)  # replayed from 0 to the final event
    assert events[0] == "job.created" and events[-1] == "job.completed"
    done = await client.jobs.wait_for_completion(job.id, timeout=30)
    result = await client.jobs.result(job.id)
    assert done.state == "COMPLETED"
    assert await client.receipts.verify(result.receipt) is True


async def until_completed(both: Both, job_id: str) -> list[str]:
    """Walk the job's event stream (an async or a sync iterator) to job.completed."""
    client = both._client
    if isinstance(client, SyncAITBCClient):

        def walk() -> list[str]:
            names: list[str] = []
            with client.jobs.events(job_id) as events:
                for event in events:
                    names.append(event["event"])
                    if event["event"] == "job.completed":
                        break
            return names

        return await asyncio.to_thread(walk)
    names: list[str] = []
    async for event in client.jobs.events(job_id):
        names.append(event["event"])
        if event["event"] == "job.completed":
            break
    return names


def test_sync_client_used_after_close_raises_a_typed_error() -> None:
    client = SyncAITBCClient({"base_url": "http://127.0.0.1:9"})
    client.close()
    client.close()  # idempotent
    with pytest.raises(TransportClosedError):
        client.wallet.balance()


async def test_with_options_on_the_sync_client_shares_the_loop(env: Parties) -> None:
    def run() -> tuple[int, int]:
        with SyncAITBCClient(
            {"base_url": env.url, "default_headers": {"X-API-Key": env.client_key}}
        ) as client:
            quick = client.with_options(timeout=5, max_retries=0)
            quick.close()  # a copy does not own the loop: the client keeps working
            client.jobs.create(ECHO_JOB)
            client.jobs.create(ECHO_JOB)
            first = client.jobs.list(limit=1).first_page()
            pages = list(client.jobs.list(limit=1).pages())
            assert len(first.items) == 1 and first.next_cursor
            assert [len(p.items) for p in pages] == [1, 1]
            return quick.wallet.balance().balance, client.wallet.balance().balance

    assert await asyncio.to_thread(run) == (9_800, 9_800)


def test_the_sync_client_exposes_every_resource_method() -> None:
    with_async = AITBCClient({"base_url": "http://127.0.0.1:9"})
    client = SyncAITBCClient({"base_url": "http://127.0.0.1:9"})
    try:
        for resource in ("jobs", "marketplace", "wallet", "receipts", "settlement"):
            async_api = getattr(with_async, resource)
            sync_api = getattr(client, resource)
            public = [n for n in dir(type(async_api)) if not n.startswith("_")]
            assert public, resource
            for name in public:
                if callable(getattr(async_api, name)):
                    method = getattr(sync_api, name)
                    assert callable(method) and method.__name__ == name, f"{resource}.{name}"
        assert client.settlement.payout_addresses == {}  # plain attributes pass through
    finally:
        client.close()
