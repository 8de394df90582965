"""Run the scripts in examples/ as a user would (``python examples/x.py``) against a
local stack started by the test: real nodes, real miners, the py-evm devnet."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aitbc.miner import Miner, MinerConfig

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@dataclass
class Ran:
    """What the script did."""

    exit_code: int
    stdout: str
    stderr: str


async def run_example(name: str, *args: str, env: Mapping[str, str], cwd: Path) -> Ran:
    """Run ``examples/<name>`` with this interpreter; AITBC_* variables only from ``env``."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("AITBC_")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(EXAMPLES / name),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**base, **env},
        cwd=cwd,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 180)
    assert proc.returncode is not None
    return Ran(proc.returncode, out.decode(), err.decode())


async def funded_client(node: Any, funds: int = 10_000) -> tuple[str, str]:
    """A client principal on ``node`` with ``funds``; returns (id, api_key)."""
    client_id, key = await node.create_principal("client", "alice")
    await node.faucet(client_id, funds)
    return client_id, key


@asynccontextmanager
async def running_miner(node: Any) -> AsyncIterator[Miner]:
    """A fresh miner principal on ``node`` serving jobs in this process until exit."""
    _, key = await node.create_principal("miner", "bob")
    miner = Miner(MinerConfig(coordinator=node.url, api_key=key, poll_wait=0.5, backoff_base=0.05))
    task = asyncio.create_task(miner.run())
    ready = asyncio.ensure_future(miner.ready.wait())
    await asyncio.wait([ready, task], timeout=20, return_when=asyncio.FIRST_COMPLETED)
    ready.cancel()
    if task.done():
        await task
    try:
        yield miner
    finally:
        miner.stop()
        await asyncio.wait_for(task, 30)
