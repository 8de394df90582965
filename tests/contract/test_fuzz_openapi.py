"""Fuzz a live node through its own /openapi.json with schemathesis, every check on.

Runs the ``st`` CLI against a real node (uvicorn on a loopback port) on SQLite and on
PostgreSQL: server errors, response schema conformance, documented status codes and
content types, negative data rejection and positive data acceptance. Zero failures.

How much, and why: 8 examples per operation and a fixed seed. On SQLite all three phases
run in order: the schema's own examples, the coverage phase (each constraint's boundary
values and just past them, deterministic) and random fuzzing, which schemathesis repeats
until the run's time budget (60 s) is spent. On PostgreSQL the examples and coverage
phases run, capped at 45 s (they took 86 s at load 8 on 2 cores, so a loaded machine
stops inside the coverage phase; the seed keeps its order fixed): what differs between
the two databases is the storage layer (integer widths, string lengths, NUL and other text
a column refuses), and those are exactly the boundary values the coverage phase sends;
random fuzzing there would repeat what the SQLite run proves about the handlers.
``AITBC_FUZZ_SECONDS``, ``AITBC_FUZZ_SECONDS_POSTGRES`` and
``AITBC_FUZZ_PHASES_POSTGRES=examples,coverage,fuzzing`` fuzz more. The miner's long-polls
find queued jobs (see :func:`seed`) instead of waiting out ``wait_seconds``: before that,
four fifths of the fuzz's request time was polls idling.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from .fuzz_config import config_toml

pytest.importorskip("schemathesis")

#: Examples per operation (the run is seeded, so the same cases every time).
MAX_EXAMPLES = int(os.environ.get("AITBC_FUZZ_EXAMPLES", "8"))
#: SQLite's time budget: the fuzzing phase repeats until it is spent (``--max-time``).
MAX_SECONDS_SQLITE = int(os.environ.get("AITBC_FUZZ_SECONDS", "60"))
#: PostgreSQL's phases end by themselves; the cap keeps a loaded machine's run short.
MAX_SECONDS_POSTGRES = int(os.environ.get("AITBC_FUZZ_SECONDS_POSTGRES", "45"))
PHASES_SQLITE = "examples,coverage,fuzzing"
PHASES_POSTGRES = os.environ.get("AITBC_FUZZ_PHASES_POSTGRES", "examples,coverage")
#: Realtime streams (SSE, kick) are fuzzed by their own tests, not by request/response.
SKIP = r"^/v1/events$|^/v1/ws$|^/v1/admin/realtime/"
#: Echo jobs queued before fuzzing, more than the miner's schema-valid polls at 8 examples
#: (about 20): a poll that finds the queue empty waits out its ``wait_seconds``.
QUEUED_JOBS = 40


def st_binary() -> str:
    found = shutil.which("st", path=str(Path(sys.executable).parent)) or shutil.which("st")
    assert found, "schemathesis is in the dev extra; run make setup"
    return found


async def seed(node: Any) -> dict[str, str]:
    """Keys for each role, a funded client, a registered miner and queued jobs for it.

    The queued jobs are what the miner's long-polls claim: with none, every schema-valid
    ``POST /v1/miners/poll`` (``wait_seconds`` up to 30) is held for its whole wait, which
    was four fifths of the fuzz's time in requests. A claimed job is also the richer answer
    to check (a ``Claim`` body, where an empty queue only gives 204).
    """
    import httpx

    from aitbc.core.signing import SigningKey

    client_id, client_key = await node.create_principal("client", "fuzz-client")
    _, miner_key = await node.create_principal("miner", "fuzz-miner")
    await node.faucet(client_id, 10**9)
    caps = {"job_types": ["echo"]}
    async with httpx.AsyncClient(base_url=node.url, headers={"X-API-Key": miner_key}) as http:
        body = {"public_key": SigningKey.generate().verify_key.b64, "capabilities": caps}
        assert (await http.post("/v1/miners/register", json=body)).status_code == 200
    async with httpx.AsyncClient(base_url=node.url, headers={"X-API-Key": client_key}) as http:
        for n in range(QUEUED_JOBS):
            job = {"job_type": "echo", "payload": n, "price": "1"}
            assert (await http.post("/v1/jobs", json=job)).status_code == 201
    return {"client": client_key, "miner": miner_key, "admin": node.admin_key}


async def fuzz(node: Any, tmp_path: Path, phases: str, max_seconds: int) -> str:
    keys = await seed(node)
    config = tmp_path / "schemathesis.toml"
    config.write_text(config_toml(keys, SKIP))
    process = await asyncio.create_subprocess_exec(
        st_binary(),
        "--no-color",
        "--config-file",
        str(config),
        "run",
        f"{node.url}/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--max-time",
        str(max_seconds),
        "--seed",
        "20261129",
        # one worker: schemathesis compiling strategies in threads trips CPython 3.11's
        # "AST constructor recursion depth mismatch" SystemError
        "--workers",
        "1",
        "--phases",
        phases,
        "--report-dir",
        str(tmp_path / "reports"),
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    text = out.decode(errors="replace")
    cases = re.search(r"(\d+) generated", text)
    print(text[-1500:])
    assert cases and int(cases.group(1)) > 0, text[-3000:]
    assert process.returncode == 0, text[-20000:]
    assert re.search(r"(\d+) generated, \1 passed", text), text[-3000:]
    return text


async def test_fuzz_sqlite(node: Any, tmp_path: Path) -> None:
    await fuzz(node, tmp_path, PHASES_SQLITE, MAX_SECONDS_SQLITE)


@pytest.mark.postgres
async def test_fuzz_postgres(pg_node: Any, tmp_path: Path) -> None:
    await fuzz(pg_node, tmp_path, PHASES_POSTGRES, MAX_SECONDS_POSTGRES)
