"""``aitbc miner`` as a real subprocess: signals stop it gracefully, its key persists."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aitbc import AITBCClient
from aitbc.models import JobState

from .helpers import client_for

AITBC = str(Path(sys.executable).parent / "aitbc")


def _text(path: Path) -> str:
    return path.read_text()


async def _spawn(url: str, api_key: str, key_file: Path, log: Path) -> asyncio.subprocess.Process:
    args = ["miner", "--coordinator", url, "--api-key", api_key, "--key-file", str(key_file)]
    args += ["--poll-wait", "1", "--executors", "sha256,echo"]
    with log.open("ab") as sink:
        return await asyncio.create_subprocess_exec(AITBC, *args, stdout=sink, stderr=sink)


async def _wait_state(client: AITBCClient, job_id: str, state: JobState) -> None:
    for _ in range(1500):
        if (await client.jobs.get(job_id)).state is state:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"job {job_id} never reached {state}")


async def _stop(proc: asyncio.subprocess.Process, signum: int, log: Path) -> None:
    proc.send_signal(signum)
    code = await asyncio.wait_for(proc.wait(), 30)
    assert code == 0, _text(log)


async def test_sigterm_finishes_the_running_job_and_key_survives_restart(
    node: Any, tmp_path: Path
) -> None:
    client_id, client_key = await node.create_principal("client", "alice")
    _, miner_key = await node.create_principal("miner", "bob")
    await node.faucet(client_id, 1_000)
    key_file, log = tmp_path / "miner-key.json", tmp_path / "miner.log"
    async with client_for(node.url, client_key) as client:
        proc = await _spawn(node.url, miner_key, key_file, log)
        slow = await client.jobs.create(
            job_type="sha256", payload={"data": "x", "rounds": 1_500_000}, price=100
        )
        await _wait_state(client, slow.id, JobState.RUNNING)
        signaled_at = datetime.now(UTC)
        await _stop(proc, signal.SIGTERM, log)
        assert (await client.jobs.get(slow.id)).state is JobState.COMPLETED
        first = (await client.jobs.result(slow.id)).receipt
        assert first.completed_at is not None and first.completed_at > signaled_at

        proc = await _spawn(node.url, miner_key, key_file, log)
        quick = await client.jobs.create(job_type="echo", payload={"n": 1}, price=100)
        await client.jobs.wait_for_completion(quick.id, timeout=30)
        await _stop(proc, signal.SIGINT, log)
        second = (await client.jobs.result(quick.id)).receipt
    published = json.loads(_text(key_file))["public_key"]
    assert first.miner_key == second.miner_key == published
    assert "miner stopped: 1 completed" in _text(log)


async def test_bad_api_key_exits_four_like_the_client_commands(node: Any, tmp_path: Path) -> None:
    log = tmp_path / "miner.log"
    proc = await _spawn(node.url, "aitbc_not_a_key", tmp_path / "k.json", log)
    assert await asyncio.wait_for(proc.wait(), 30) == 4
    # One line says why (as every client command does); the refusal is not logged twice.
    assert _text(log).count("unauthenticated") == 1
    assert _text(log).splitlines()[-1].startswith("error: the node rejected the API key")


async def test_bad_options_exit_two(tmp_path: Path) -> None:
    log = tmp_path / "miner.log"
    proc = await _spawn("ftp://nowhere", "k", tmp_path / "k.json", log)
    assert await asyncio.wait_for(proc.wait(), 30) == 2
    assert "http(s) URL" in _text(log)
