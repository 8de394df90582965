"""Fixtures for the client commands: an isolated environment, the real ``aitbc`` app
driven in a worker thread (so the node keeps serving in the test's loop) or the
installed ``aitbc`` executable in a subprocess, and a node with a funded client and a
running miner."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from aitbc.cli.main import app
from aitbc.miner import Miner, MinerConfig

AITBC_BIN = str(Path(sys.executable).with_name("aitbc"))
FUNDS = 100_000


def cli_app() -> Any:
    """The real ``aitbc`` Typer app (its commands load on first use, as in the binary)."""
    return app


@dataclass
class Ran:
    """What one command did: exit code, stdout and stderr."""

    exit_code: int
    stdout: str
    stderr: str

    def lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No AITBC_* variable and no user config file leaks into a test."""
    for name in list(os.environ):
        if name.startswith("AITBC_") and not name.startswith("AITBC_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("COLUMNS", "200")


async def run_cli(*args: str, env: Mapping[str, str] | None = None, stdin: str = "") -> Ran:
    """Invoke the real app in a thread (it runs its own event loop there)."""
    runner = CliRunner()

    def invoke() -> Ran:
        result = runner.invoke(cli_app(), list(args), env=dict(env or {}), input=stdin)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Ran(result.exit_code, result.stdout, result.stderr)

    return await asyncio.to_thread(invoke)


async def run_binary(*args: str, env: Mapping[str, str] | None = None) -> Ran:
    """Run the installed ``aitbc`` executable, as a user would."""
    proc = await asyncio.create_subprocess_exec(
        AITBC_BIN,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return Ran(proc.returncode, out.decode(), err.decode())


@dataclass
class Stack:
    """A node, a funded client and a miner (running when started with one)."""

    node: Any
    client_id: str
    client_key: str
    miner_id: str
    miner_key: str

    def flags(self, key: str | None = None) -> list[str]:
        return ["--node", self.node.url, "--api-key", key or self.client_key]


@pytest.fixture
async def stack(node: Any) -> Stack:
    """A node with a funded client and a registered-able miner key (no miner running)."""
    client_id, client_key = await node.create_principal("client", "alice")
    miner_id, miner_key = await node.create_principal("miner", "bob")
    await node.faucet(client_id, FUNDS)
    return Stack(node, client_id, client_key, miner_id, miner_key)


@pytest.fixture
async def mined(stack: Stack) -> AsyncIterator[Stack]:
    """The stack with an in-process miner serving echo/sha256/matmul jobs."""
    config = MinerConfig(
        coordinator=stack.node.url, api_key=stack.miner_key, poll_wait=0.5, backoff_base=0.05
    )
    miner = Miner(config)
    task = asyncio.create_task(miner.run())
    ready = asyncio.ensure_future(miner.ready.wait())
    await asyncio.wait([ready, task], timeout=20, return_when=asyncio.FIRST_COMPLETED)
    ready.cancel()
    if task.done():
        await task
    try:
        yield stack
    finally:
        miner.stop()
        await asyncio.wait_for(task, 30)
