"""Debug logging: each request, retry and reconnect is logged with timing; a key never is."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from typing import Any

import pytest

from aitbc import AITBCClient

from .conftest import ScriptedNode
from .fault_proxy import Script, fault_proxy_app
from .nodekit import ECHO_JOB, parties
from .servers import envelope, serve

SECRET = "sk_live_do_not_log_me_0123456789"


def _client(url: str) -> AITBCClient:
    return AITBCClient(
        {"base_url": url, "default_headers": {"X-API-Key": SECRET}, "backoff_base": 0.001}
    )


async def test_requests_and_retries_are_logged_without_the_key(
    scripted: ScriptedNode, caplog: pytest.LogCaptureFixture
) -> None:
    scripted.rec.script.append(envelope(503, "unavailable", **{"Retry-After": "0"}))
    with caplog.at_level(logging.DEBUG, logger="aitbc"):
        async with _client(scripted.url) as client:
            await client.call("GET", "/echo", params={"q": "1"})
            await client.call("POST", "/echo", {"api_key": SECRET}, headers={"X-API-Key": SECRET})
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("aitbc")]
    assert any(line.startswith("retry 1/3 of GET /echo") for line in lines), lines
    assert any(line.startswith("GET /echo ok in ") and line.endswith(" ms") for line in lines)
    assert any(line.startswith("POST /echo ok in ") for line in lines)
    assert not any(SECRET in line for line in lines)
    assert not any(SECRET in repr(r.args) for r in caplog.records)


async def test_aitbc_log_env_var_turns_on_debug_logs_in_a_fresh_process(
    scripted: ScriptedNode,
) -> None:
    script = (
        "import asyncio, sys\n"
        "from aitbc import AITBCClient\n"
        "async def main():\n"
        f"    async with AITBCClient({{'base_url': sys.argv[1], "
        f"'default_headers': {{'X-API-Key': {SECRET!r}}}}}) as client:\n"
        "        await client.call('GET', '/echo')\n"
        "asyncio.run(main())\n"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, scripted.url,
        env={**os.environ, "AITBC_LOG": "debug"},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    text = err.decode()
    assert "aitbc.client DEBUG GET /echo ok in " in text
    assert SECRET not in text and SECRET not in out.decode()


async def test_websocket_reconnect_is_logged_without_the_key(
    node: Any, caplog: pytest.LogCaptureFixture
) -> None:
    env = await parties(node)
    script = Script(drop_after=1)
    async with serve(fault_proxy_app(node.url, script)) as proxy_url:
        config = {
            "type": "websocket",
            "ws_url": "ws" + proxy_url[len("http") :] + "/v1/ws",
            "api_key": env.client_key,
            "reconnect_base_delay": 0.001,
            "backoff_base": 0.001,
        }
        with caplog.at_level(logging.DEBUG, logger="aitbc"):
            async with AITBCClient(config) as client:
                await client.jobs.create(ECHO_JOB)
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("aitbc")]
    assert any(line.startswith("reconnected to ws://") for line in lines), lines
    assert any(line.startswith("retry 1/3 of POST /v1/jobs") for line in lines), lines
    assert not any(env.client_key in line for line in lines)


async def test_websocket_wire_log_redacts_the_key(
    node: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """websockets logs handshake headers at DEBUG; turned on, the key is still hidden."""
    env = await parties(node)
    wire = logging.getLogger("aitbc.transports.websocket.wire")
    config = {"type": "websocket", "ws_url": node.ws_url, "api_key": env.client_key}
    with caplog.at_level(logging.DEBUG, logger=wire.name):
        async with AITBCClient(config) as client:
            await client.wallet.balance()
    lines = [r.getMessage() for r in caplog.records if r.name == wire.name]
    assert "> X-API-Key: <redacted>" in lines
    assert not any(env.client_key in line for line in lines)
