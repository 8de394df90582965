"""The miner against a real ``aitbc serve`` process that is stopped and started again on
the same port and database: the miner rides it out and keeps serving."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aitbc import HTTPTransport
from aitbc.errors import AITBCError
from aitbc.miner import Miner, MinerConfig
from aitbc.models import JobState

from .helpers import client_for

AITBC = str(Path(sys.executable).parent / "aitbc")
ADMIN = "aitbc_restart_admin"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _healthy(url: str, proc: asyncio.subprocess.Process) -> None:
    async with HTTPTransport({"base_url": url, "timeout": 2, "max_retries": 0}) as http:
        for _ in range(400):
            assert proc.returncode is None, "aitbc serve exited early"
            try:
                await http.request("GET", "/health")
                return
            except AITBCError:
                await asyncio.sleep(0.05)
    raise AssertionError("node did not become healthy")


@asynccontextmanager
async def _serve(port: int, database: Path) -> AsyncIterator[str]:
    url = f"http://127.0.0.1:{port}"
    args = ["serve", "--port", str(port), "--admin-key", ADMIN, "--log-level", "warning"]
    args += ["--database-url", f"sqlite+aiosqlite:///{database}"]
    proc = await asyncio.create_subprocess_exec(
        AITBC, *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    try:
        await _healthy(url, proc)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 30)


async def _principals(url: str) -> tuple[str, str]:
    headers = {"X-API-Key": ADMIN}
    async with HTTPTransport({"base_url": url, "default_headers": headers}) as admin:
        alice = await admin.request(
            "POST", "/v1/admin/principals", {"role": "client", "name": "alice"}
        )
        bob = await admin.request("POST", "/v1/admin/principals", {"role": "miner", "name": "bob"})
        faucet = {"account_id": alice["principal"]["id"], "amount": "100"}
        await admin.request("POST", "/v1/admin/faucet", faucet)
    return str(alice["api_key"]), str(bob["api_key"])


def _miner(url: str, api_key: str) -> Miner:
    config = MinerConfig(
        coordinator=url, api_key=api_key, poll_wait=0.5, backoff_base=0.05, backoff_cap=0.5
    )
    return Miner(config)


async def test_miner_keeps_serving_across_a_node_restart(tmp_path: Path) -> None:
    port, database = _free_port(), tmp_path / "node.sqlite3"
    url = f"http://127.0.0.1:{port}"
    tasks: list[asyncio.Task[None]] = []
    try:
        async with _serve(port, database):
            client_key, miner_key = await _principals(url)
            miner = _miner(url, miner_key)
            tasks.append(asyncio.create_task(miner.run()))
            async with client_for(url, client_key) as client:
                first = await client.jobs.create(job_type="echo", payload={"n": 1}, price=10)
                await client.jobs.wait_for_completion(first.id, timeout=30)
        # The node is gone (the miner's polls fail, it backs off); the same node returns.
        async with _serve(port, database), client_for(url, client_key) as client:
            second = await client.jobs.create(job_type="echo", payload={"n": 2}, price=10)
            done = await client.jobs.wait_for_completion(second.id, timeout=30)
            assert done.state is JobState.COMPLETED and done.miner_id == miner.miner_id
            assert (await client.wallet.balance()).balance == 80
    finally:
        for task in tasks:
            miner.stop()
            await asyncio.wait_for(task, 30)
    assert miner.stats.completed == 2
