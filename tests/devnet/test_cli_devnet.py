"""``aitbc devnet`` as a user runs it: a subprocess that writes its config and stops on Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from aitbc.devnet import DevnetConfig

pytestmark = pytest.mark.evm

START_TIMEOUT_S = 90
#: Ctrl-C as a terminal delivers it to its foreground command. A suite started in the
#: background by a shell (``.ci/run &``) hands SIGINT down ignored, and Python then never
#: raises KeyboardInterrupt: the command would not even see the Ctrl-C under test.
_AS_IN_A_TERMINAL = "import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "


async def test_devnet_command_serves_chains_until_interrupted(tmp_path: Path) -> None:
    config_path = tmp_path / "devnet.json"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _AS_IN_A_TERMINAL + "from aitbc.cli.main import main; main()",
        "devnet", "--chains", "1,137", "--config-out", str(config_path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    printed = bytearray()
    drain: asyncio.Task[None] | None = None
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(_line_with(proc.stdout, b"config written"), START_TIMEOUT_S)
        # Keep reading what it prints (its logs go there too): a full pipe would block
        # the devnet's event loop in a write, and then not even Ctrl-C could stop it.
        drain = asyncio.create_task(_collect(proc.stdout, printed))
        assert str(config_path).encode() in line
        config = DevnetConfig.load(config_path)
        assert [c.chain_id for c in config.chains] == [1, 137]
        async with aiohttp.ClientSession() as session:
            for chain in config.chains:
                body = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}
                async with session.post(chain.rpc_url, json=body) as resp:
                    assert (await resp.json())["result"] == hex(chain.chain_id)
        proc.send_signal(signal.SIGINT)
        try:
            code: int | None = await asyncio.wait_for(proc.wait(), 60)  # bounds a hang only
        except TimeoutError:
            code = None
        assert code == 0, f"aitbc devnet did not stop on Ctrl-C ({code}); it printed {printed!r}"
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        if drain is not None:
            drain.cancel()


async def _collect(stream: asyncio.StreamReader, into: bytearray) -> None:
    while chunk := await stream.read(65536):
        into += chunk


async def _line_with(stream: asyncio.StreamReader, needle: bytes) -> bytes:
    while True:
        line = await stream.readline()
        if not line:
            raise AssertionError("aitbc devnet exited before writing its config")
        if needle in line:
            return line


async def test_devnet_command_without_anvil_explains_how_to_get_it(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from aitbc.cli.main import main; main()",
        "devnet", "--backend", "anvil", "--config-out", str(tmp_path / "devnet.json"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "AITBC_ANVIL": str(tmp_path / "no-such-anvil")},
    )  # fmt: skip
    output, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 2
    assert b"anvil not found" in output and b"npm install" in output
    assert not (tmp_path / "devnet.json").exists()
