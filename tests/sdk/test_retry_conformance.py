"""One retry policy, one outcome, on every transport.

The same fault script runs through HTTP, WebSocket and failover clients, each in front
of a real node behind :mod:`.fault_proxy`: 503 and 429 with Retry-After, drops before and
after the node acted, a connection killed while the node works on a request, and a cut
first handshake. Every call must succeed without the caller seeing an error, every job
and transfer must exist once and be charged once, and the waits the client took must be
the server's Retry-After (recorded by an injected sleep, never slept for real).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from aitbc import AITBCClient
from aitbc.errors import ConnectError
from aitbc.transports.failover import FailoverTransport
from miner.tcp_proxy import TcpProxy  # tests/ is on sys.path (rootdir packages)

from .fault_proxy import Script, fault_proxy_app
from .nodekit import ECHO_JOB, Parties, parties
from .servers import serve

KINDS = ["http", "websocket", "failover"]
FAULTS = ["status_503", "status_429", "drop_before", "kill_after_received", "drop_after"]


@dataclass
class Rig:
    env: Parties
    script: Script
    proxy_url: str
    node_url: str


@pytest.fixture
async def rig(node: Any) -> AsyncIterator[Rig]:
    env = await parties(node)
    script = Script()
    async with serve(fault_proxy_app(node.url, script)) as proxy_url:
        yield Rig(env, script, proxy_url, node.url)


class JumpingClock:
    """Failover's health clock: a long time passes between reads, so an endpoint put
    aside is back for the next call and every call meets the faulty proxy first."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1000.0
        return self.now


def make_client(kind: str, rig: Rig) -> AITBCClient:
    config = client_config(kind, rig)
    if kind == "failover":
        return AITBCClient(FailoverTransport(config, clock=JumpingClock()))
    return AITBCClient(config)


def client_config(kind: str, rig: Rig) -> dict[str, Any]:
    key = rig.env.client_key
    shared = {"max_retries": 6, "backoff_base": 0.01, "timeout": 20}
    if kind == "http":
        return {"base_url": rig.proxy_url, "default_headers": {"X-API-Key": key}, **shared}
    if kind == "websocket":
        ws_url = "ws" + rig.proxy_url[len("http") :] + "/v1/ws"
        return {"type": "websocket", "ws_url": ws_url, "api_key": key,
                "reconnect_base_delay": 0.01, **shared}  # fmt: skip
    # failover: the faulty proxy first, the node itself second
    return {"endpoints": [rig.proxy_url, rig.node_url], "default_headers": {"X-API-Key": key},
            "failover_backoff_base": 0.01, "failover_backoff_cap": 0.02, **shared}  # fmt: skip


class Clock:
    """An injected sleep: records each backoff and returns at once."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        await asyncio.sleep(0)


async def run_script(
    client: AITBCClient, script: Script, call: Callable[[], Awaitable[Any]]
) -> list[Any]:
    """Arm each fault in turn and make one call through it; all must succeed."""
    results = []
    for fault in FAULTS:
        setattr(script, fault, 1)
        results.append(await call())
        assert getattr(script, fault) == 0, f"{fault} never fired"
    return results


@pytest.mark.parametrize("kind", KINDS)
async def test_jobs_survive_every_fault_once_and_charged_once(kind: str, rig: Rig) -> None:
    clock = Clock()
    rig.script.cut_handshake = 1
    async with make_client(kind, rig) as base:
        assert rig.script.cut_handshake == 0  # the first handshake was cut, then retried
        client = base.with_options(sleep=clock.sleep)
        jobs = await run_script(client, rig.script, lambda: client.jobs.create(ECHO_JOB))
        listed = await client.jobs.list().to_list()
        balance = await client.wallet.balance()
    assert sorted(j.id for j in listed) == sorted(j.id for j in jobs)  # no duplicate job
    assert (balance.balance, balance.escrowed) == (10_000 - 500, 500)  # charged once each
    # 503 and 429 waited exactly the server's Retry-After (through the injected sleep)
    assert clock.sleeps.count(1.0) >= 2
    if kind != "failover":  # failover moved the dropped ones to the healthy endpoint
        keys = [k for m, p, k in rig.script.forwarded if m == "POST" and p == "/v1/jobs"]
        assert len(keys) > len(set(keys))  # some reached the node twice, with one key


@pytest.mark.parametrize("kind", KINDS)
async def test_transfers_move_money_once_through_every_fault(kind: str, rig: Rig) -> None:
    clock = Clock()
    async with make_client(kind, rig) as base:
        client = base.with_options(sleep=clock.sleep)
        moved = await run_script(
            client, rig.script, lambda: client.wallet.transfer(rig.env.miner_id, 10)
        )
        history = await client.wallet.history().to_list()
        balance = await client.wallet.balance()
    assert sorted(t.id for t in history if t.kind == "transfer") == sorted(t.id for t in moved)
    assert balance.balance == 10_000 - 50


@pytest.mark.parametrize("kind", KINDS)
async def test_reads_survive_every_fault(kind: str, rig: Rig) -> None:
    clock = Clock()
    async with make_client(kind, rig) as base:
        client = base.with_options(sleep=clock.sleep)
        balances = await run_script(client, rig.script, client.wallet.balance)
    assert [b.balance for b in balances] == [10_000] * len(FAULTS)


@pytest.mark.parametrize("kind", ["http", "websocket"])
async def test_a_post_without_key_fails_fast_with_a_typed_error(kind: str, rig: Rig) -> None:
    """Not safe to resend: the lost answer surfaces at once as ConnectionClosed, on a
    dead socket the call does not sit until its deadline."""
    from aitbc.errors import ConnectionClosed

    async with make_client(kind, rig) as client:
        rig.script.drop_after = 1
        with pytest.raises(ConnectionClosed):
            await client.call("POST", "/v1/jobs/job_missing/cancel")
        # the transport recovers for the next call
        assert (await client.wallet.balance()).balance == 10_000
    posts = [f for f in rig.script.forwarded if f[0] == "POST"]
    assert len(posts) == 1


@pytest.mark.parametrize("kind", KINDS)
async def test_retries_off_surface_the_fault_and_the_same_key_recovers(kind: str, rig: Rig) -> None:
    async with make_client(kind, rig) as base:
        client = base.with_options(max_retries=0)
        rig.script.status_503 = 1
        from aitbc.errors import ServerError

        with pytest.raises(ServerError):
            await client.jobs.create(ECHO_JOB, idempotency_key="order-1")
        job = await client.jobs.create(ECHO_JOB, idempotency_key="order-1")
        again = await client.jobs.create(ECHO_JOB, idempotency_key="order-1")
    assert job.id == again.id


@pytest.mark.parametrize("kind", KINDS)
async def test_concurrent_creates_through_repeated_connection_kills(kind: str, rig: Rig) -> None:
    """The issue's stall: many creates in flight while connections are killed after the
    node got requests. Each call is resent on a new connection (or fails over), none
    waits out its deadline, and each job exists once."""
    clock = Clock()
    async with make_client(kind, rig) as base:
        client = base.with_options(sleep=clock.sleep, max_retries=20)
        rig.script.kill_after_received = 4
        rig.script.drop_after = 4
        jobs = await asyncio.gather(*(client.jobs.create(ECHO_JOB) for _ in range(12)))
        listed = await client.jobs.list().to_list()
        balance = await client.wallet.balance()
    assert rig.script.kill_after_received == 0 and rig.script.drop_after == 0
    assert len({j.id for j in jobs}) == 12
    assert sorted(j.id for j in listed) == sorted(j.id for j in jobs)
    assert (balance.balance, balance.escrowed) == (10_000 - 1_200, 1_200)


async def test_websocket_calls_fail_fast_while_the_node_is_unreachable(rig: Rig) -> None:
    """With the node gone, a WebSocket call fails with ConnectError once the reconnects
    its retries wait for have failed (as HTTP does), not by sitting until its deadline;
    when the node is back, the same client works again."""
    proxy = TcpProxy(int(rig.node_url.rsplit(":", 1)[1]))
    await proxy.start()
    config = {
        "type": "websocket",
        "ws_url": f"ws://127.0.0.1:{proxy.port}/v1/ws",
        "api_key": rig.env.client_key,
        "reconnect_base_delay": 0.001,
        "reconnect_max_delay": 0.002,
        "timeout": 60,
    }
    clock = Clock()
    try:
        async with AITBCClient(config) as base:
            client = base.with_options(sleep=clock.sleep, max_retries=2)
            assert (await client.wallet.balance()).balance == 10_000
            await proxy.stop()
            with pytest.raises(ConnectError):
                await client.wallet.balance()
            assert len(clock.sleeps) == 2  # two retries, each after a failed reconnect
            await proxy.start()  # same port: the transport's reconnect loop finds it
            assert (await client.wallet.balance()).balance == 10_000
    finally:
        await proxy.stop()
