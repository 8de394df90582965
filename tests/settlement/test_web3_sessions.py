"""open_web3's clients do not take web3's process-wide HTTP session lock (web3.py #3867):
a request cancelled while waiting for that lock leaves it taken, and with web3's own
session manager every later HTTP call of the process would hang behind it."""

from __future__ import annotations

import asyncio

import pytest
from web3._utils.http_session_manager import HTTPSessionManager

from aitbc.devnet.config import DEV_KEYS
from aitbc.devnet.nodes import PyEvmNode
from aitbc.settlement.bridges._evm import close_web3, open_web3

pytestmark = pytest.mark.evm


async def test_calls_go_through_while_the_process_wide_lock_is_held() -> None:
    node = PyEvmNode(31337, list(DEV_KEYS.values()))
    url = await node.start()
    w3 = open_web3(url, timeout_s=10)
    held = HTTPSessionManager._lock.acquire(timeout=5)  # as a cancelled request leaves it
    assert held, "another test holds web3's lock"
    try:
        # Bounded only so a regression fails instead of hanging the suite.
        assert await asyncio.wait_for(w3.eth.chain_id, 10) == 31337
        assert await asyncio.wait_for(w3.eth.block_number, 10) >= 0
    finally:
        HTTPSessionManager._lock.release()
        await close_web3(w3)
        await node.stop()
