"""``aitbc serve`` and ``aitbc keys create`` as real subprocesses."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from aitbc.core.signing import SigningKey
from aitbc.node.embedded import run_node

# The console script installed next to this interpreter (the venv's ``aitbc``).
AITBC = [str(Path(sys.executable).parent / "aitbc")]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _wait_healthy(url: str, proc: asyncio.subprocess.Process) -> None:
    async with httpx.AsyncClient(base_url=url) as http:
        for _ in range(200):
            assert proc.returncode is None, "aitbc serve exited early"
            try:
                if (await http.get("/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError("node did not become healthy")


async def test_serve_answers_health_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    db = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"
    proc = await asyncio.create_subprocess_exec(
        *[
            *AITBC,
            "serve",
            "--port",
            str(port),
            "--database-url",
            db,
            "--chain-id",
            "9",
            "--admin-key",
            "aitbc_cli_admin",
            "--log-level",
            "warning",
        ],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ},
    )
    try:
        await _wait_healthy(url, proc)
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            assert (await http.get("/v1/info")).json()["chain_id"] == 9
            admin = {"X-API-Key": "aitbc_cli_admin"}
            assert (await http.get("/v1/me", headers=admin)).json()["role"] == "admin"
            waiting = await _waiting_poll(http, admin)
            await asyncio.sleep(0.3)
            proc.send_signal(signal.SIGTERM)
            # A long-poll in flight is answered (204), not cut off, when the node stops.
            assert (await waiting).status_code == 204
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(proc.communicate(), 20)
    # uvicorn shuts down gracefully, then re-raises the signal it captured.
    assert proc.returncode in (0, -signal.SIGTERM), stderr.decode()
    assert b"Traceback" not in stderr, stderr.decode()


async def _waiting_poll(
    http: httpx.AsyncClient, admin: dict[str, str]
) -> asyncio.Task[httpx.Response]:
    made = await http.post(
        "/v1/admin/principals", json={"role": "miner", "name": "m"}, headers=admin
    )
    miner = {"X-API-Key": made.json()["api_key"]}
    caps = {
        "public_key": SigningKey.generate().verify_key.b64,
        "capabilities": {"job_types": ["x"]},
    }
    assert (await http.post("/v1/miners/register", json=caps, headers=miner)).status_code == 200
    return asyncio.create_task(
        http.post("/v1/miners/poll", json={"wait_seconds": 30}, headers=miner)
    )


async def test_keys_create_prints_a_working_key(tmp_path: Path) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'keys.sqlite3'}"
    done = await asyncio.to_thread(
        subprocess.run,
        [*AITBC, "keys", "create", "--role", "miner", "--name", "rig-1", "--database-url", db],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    created = json.loads(done.stdout)
    assert created["role"] == "miner" and created["api_key"].startswith("aitbc_")
    async with run_node(db) as node, httpx.AsyncClient(base_url=node.url) as http:
        me = await http.get("/v1/me", headers={"X-API-Key": created["api_key"]})
    assert me.json() == {
        **me.json(),
        "id": created["principal_id"],
        "role": "miner",
        "name": "rig-1",
    }


async def test_keys_create_rejects_a_bad_role(tmp_path: Path) -> None:
    done = await asyncio.to_thread(
        subprocess.run,
        [
            *AITBC,
            "keys",
            "create",
            "--role",
            "root",
            "--name",
            "x",
            "--database-url",
            f"sqlite+aiosqlite:///{tmp_path / 'k.sqlite3'}",
        ],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0 and b"role" in done.stderr
