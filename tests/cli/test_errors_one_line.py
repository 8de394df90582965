"""Every CLI error is one line with the documented exit status: usage errors, serve's
configuration errors (nothing left on disk) and a miner whose key the node refuses."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from .conftest import AITBC_BIN, Ran, run_binary


async def run_in(cwd: Path, *args: str) -> Ran:
    proc = await asyncio.create_subprocess_exec(
        AITBC_BIN,
        *args,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=dict(os.environ),
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return Ran(proc.returncode, out.decode(), err.decode())


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["jobs", "no-such-command"], "No such command"),
        (["serve", "--port", "abc"], "--port"),
        (["jobs", "list", "--no-such-flag"], "--no-such-flag"),
    ],
)
async def test_usage_errors_are_one_line_and_exit_2(args: list[str], says: str) -> None:
    ran = await run_binary(*args)
    assert ran.exit_code == 2, ran
    assert len(ran.lines()) == 1 and ran.lines()[0].startswith("error: "), ran.stderr
    assert says in ran.stderr and "╭" not in ran.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--port", "99999"], "less than or equal to 65535"),
        (["--port", "-1"], "greater than or equal to 0"),
        (["--database-url", "bogus://x"], "unsupported database URL 'bogus://x'"),
    ],
)
async def test_serve_configuration_errors_leave_nothing(
    tmp_path: Path, args: list[str], says: str
) -> None:
    ran = await run_in(tmp_path, "serve", *args)
    assert ran.exit_code == 2, ran
    assert len(ran.lines()) == 1 and says in ran.stderr, ran.stderr
    assert os.listdir(tmp_path) == []  # no database file, nothing else


async def test_miner_with_a_refused_key_exits_4(node: Any, tmp_path: Path) -> None:
    ran = await run_in(
        tmp_path, "miner", "--coordinator", node.url, "--api-key", "aitbc_wrong", "--ephemeral-key"
    )
    assert ran.exit_code == 4, ran
    assert ran.lines()[-1] == (
        "error: the node rejected the API key: check --api-key, AITBC_API_KEY or the config"
        " file (401 unauthenticated)"
    )
