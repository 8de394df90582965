"""Events reach subscribers on other workers: through Redis (two ``aitbc serve``
processes on one PostgreSQL), or, without Redis, through the periodic resync."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from aitbc.node.services.principals import new_api_key
from aitbc.transports.websocket import WebSocketTransport

AITBC = str(Path(sys.executable).with_name("aitbc"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _wait_healthy(url: str, proc: asyncio.subprocess.Process) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            if proc.returncode is not None:
                raise AssertionError(f"node exited with {proc.returncode}")
            try:
                async with session.get(f"{url}/health") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"{url} never became healthy")


@pytest.fixture
async def serve(
    postgres_url: str, redis_url: str, redis_prefix: str
) -> AsyncIterator[Callable[[], object]]:
    """``await serve()`` starts one more ``aitbc serve`` process on the shared PG + Redis."""
    admin_key = new_api_key()
    procs: list[asyncio.subprocess.Process] = []
    env = {**os.environ, "AITBC_REALTIME_REDIS_CHANNEL": f"{redis_prefix}:events"}

    async def start() -> tuple[str, str]:
        port = _free_port()
        args = [
            AITBC,
            "serve",
            "--port",
            str(port),
            "--database-url",
            postgres_url,
            "--redis-url",
            redis_url,
            "--admin-key",
            admin_key,
            "--log-level",
            "warning",
        ]
        proc = await asyncio.create_subprocess_exec(*args, env=env, stdout=subprocess.DEVNULL)
        procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        await _wait_healthy(url, proc)
        return url, admin_key

    yield start
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            await asyncio.wait_for(proc.wait(), 15)
        except TimeoutError:
            proc.kill()
            await proc.wait()


@pytest.mark.postgres
@pytest.mark.redis
async def test_subscriber_on_one_worker_sees_events_caused_through_another(serve: Any) -> None:
    first_url, admin_key = await serve()  # started one after the other: one migrates first
    second_url, _ = await serve()
    admin = {"X-API-Key": admin_key}
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{second_url}/v1/admin/principals",
            headers=admin,
            json={"role": "client", "name": "carol"},
        ) as resp:
            assert resp.status == 201
            created = await resp.json()
        client_id, client_key = created["principal"]["id"], created["api_key"]
        transport = WebSocketTransport(
            {"ws_url": first_url.replace("http", "ws") + "/v1/ws", "api_key": client_key}
        )
        try:
            sub = transport.stream("subscribe", f"account:{client_id}", {"resume_from": 0})
            await sub.start()
            for amount in range(1, 31):  # every write goes through the SECOND process
                async with http.post(
                    f"{second_url}/v1/admin/faucet",
                    headers=admin,
                    json={"account_id": client_id, "amount": str(amount)},
                ) as resp:
                    assert resp.status == 201
            events = []
            async with asyncio.timeout(20):  # well under the 30 s resync: Redis delivered
                async for event in sub:
                    events.append(event)
                    if len(events) == 30:
                        break
        finally:
            await transport.disconnect()
    assert [e["seq"] for e in events] == list(range(1, 31))
    assert [e["data"]["amount"] for e in events] == [str(n) for n in range(1, 31)]


async def test_without_redis_other_workers_are_picked_up_by_the_resync(
    node_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two nodes on one SQLite file and no Redis: late (one resync), but nothing lost."""
    monkeypatch.setenv("AITBC_REALTIME_RESYNC_INTERVAL", "0.2")
    shared = f"sqlite+aiosqlite:///{tmp_path / 'shared.sqlite3'}"
    first = await node_factory(database_url=shared)
    second = await node_factory(database_url=shared)
    pid, key = await first.create_principal("client", "frank")
    transport = WebSocketTransport({"ws_url": first.ws_url, "api_key": key})
    try:
        sub = transport.stream("subscribe", f"account:{pid}", {"resume_from": 0})
        await sub.start()
        for amount in range(1, 6):
            await second.faucet(pid, amount)  # committed by the other node
        async with asyncio.timeout(20):
            amounts = [(await anext(sub))["data"]["amount"] for _ in range(5)]
        assert amounts == ["1", "2", "3", "4", "5"]
    finally:
        await transport.disconnect()
