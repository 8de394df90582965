"""Three real nodes on three chains (SQLite each), with a funded client and a miner on each."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from sdk.nodekit import parties

from .networks import CHAINS, Net


@pytest.fixture
async def nets(node_factory: Callable[..., Awaitable[Any]]) -> dict[str, Net]:
    started: dict[str, Net] = {}
    for name, (chain_id, funds) in CHAINS.items():
        node = await node_factory(chain_id=chain_id)
        started[name] = Net(name, chain_id, funds, node, await parties(node, funds=funds))
    return started
