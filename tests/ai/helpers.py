"""Shared steps of the AI tests: an in-process reference miner against a real node."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from typer.testing import CliRunner

from aitbc.cli.main import app
from aitbc.miner import Executor, Miner, MinerConfig


@asynccontextmanager
async def running_miner(
    url: str, api_key: str, plugins: Mapping[str, Executor], **config: Any
) -> AsyncIterator[Miner]:
    """A registered miner running ``plugins``, stopped gracefully on exit."""
    settings: dict[str, Any] = {"poll_wait": 1.0, "backoff_base": 0.05, "backoff_cap": 0.5}
    miner = Miner(
        MinerConfig(
            coordinator=url, api_key=api_key, executors=list(plugins), **{**settings, **config}
        ),
        executors=plugins,
    )
    async with miner.running(register_timeout=20):
        yield miner


@dataclass
class Ran:
    """What one ``aitbc`` command did."""

    exit_code: int
    stdout: str
    stdout_bytes: bytes
    stderr: str


async def run_cli(*args: str) -> Ran:
    """Invoke the real ``aitbc`` app in a thread (it runs its own event loop there); its
    commands load on first use, as in the binary."""
    runner = CliRunner()

    def invoke() -> Ran:
        result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Ran(result.exit_code, result.stdout, result.stdout_bytes, result.stderr)

    return await asyncio.to_thread(invoke)
