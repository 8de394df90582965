"""Chain backends of the devnet: py-evm in-process (default) and anvil as a subprocess.

Both expose ``start() -> rpc_url`` and ``stop()``, so the rest of the devnet (deployment,
relayer, adapters) talks JSON-RPC over HTTP to either one identically.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

from aitbc.errors import ConfigurationError

from .pyevm_rpc import JsonRpcServer, PyEvmChain

_LISTENING = re.compile(rb"Listening on ([\d.]+):(\d+)")
ANVIL_START_TIMEOUT_S = 20.0
ANVIL_BALANCE_ETH = 1_000_000


class PyEvmNode:
    """A py-evm chain served on a loopback port by this process."""

    def __init__(self, chain_id: int, funded_keys: Sequence[str]) -> None:
        self.chain_id = chain_id
        self._server = JsonRpcServer(PyEvmChain(chain_id, funded_keys))

    async def start(self) -> str:
        """Serve the chain; returns its RPC URL."""
        return await self._server.start()

    async def stop(self) -> None:
        """Stop serving (the chain's state is dropped with the object)."""
        await self._server.stop()


def find_anvil() -> Path | None:
    """The anvil binary: $AITBC_ANVIL, the npm package's native binary, or anvil on PATH."""
    override = os.environ.get("AITBC_ANVIL")
    if override:
        return Path(override) if Path(override).is_file() else None
    for base in (Path.cwd(), Path(__file__).resolve().parents[3]):
        # The native binary, not the node wrapper, so that stopping it stops anvil itself.
        for native in sorted((base / "node_modules" / "@foundry-rs").glob("anvil-*/bin/anvil")):
            if native.is_file():
                return native
    found = shutil.which("anvil")
    return Path(found) if found else None


class AnvilNode:
    """An anvil subprocess on an ephemeral loopback port with the dev mnemonic's accounts."""

    def __init__(self, chain_id: int, binary: Path | None = None) -> None:
        self.chain_id = chain_id
        found = binary or find_anvil()
        if found is None:
            raise ConfigurationError(
                "anvil not found: run `npm install` at the repo root (@foundry-rs/anvil) "
                "or set AITBC_ANVIL"
            )
        self._binary = found
        self._proc: asyncio.subprocess.Process | None = None
        self._drain_task: asyncio.Task[None] | None = None

    async def start(self) -> str:
        """Start anvil and return its RPC URL once it listens."""
        self._proc = await asyncio.create_subprocess_exec(
            str(self._binary),
            "--chain-id",
            str(self.chain_id),
            "--port",
            "0",
            "--host",
            "127.0.0.1",
            "--balance",
            str(ANVIL_BALANCE_ETH),
            "--accounts",
            "4",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            return await asyncio.wait_for(self._read_url(), ANVIL_START_TIMEOUT_S)
        except (TimeoutError, ConfigurationError):
            await self.stop()
            raise

    async def _read_url(self) -> str:
        assert self._proc is not None and self._proc.stdout is not None
        while True:
            line = await self._proc.stdout.readline()
            if not line:
                raise ConfigurationError(f"anvil exited early (code {self._proc.returncode})")
            match = _LISTENING.search(line)
            if match:
                self._drain_task = asyncio.create_task(self._drain())
                return f"http://{match.group(1).decode()}:{int(match.group(2))}/"

    async def _drain(self) -> None:
        # Keep reading anvil's log so a full pipe never blocks it.
        proc = self._proc
        if proc is None or proc.stdout is None:
            return
        while await proc.stdout.readline():
            pass

    async def stop(self) -> None:
        """Terminate anvil (kill it if it does not exit within 5 s)."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 5)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        task, self._drain_task = self._drain_task, None
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)
