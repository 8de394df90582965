"""Fixtures of the AI-workload tests: a real node, funded parties, SDK clients."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from aitbc import AITBCClient, HTTPTransport


@dataclass
class Party:
    """A principal with its key and an SDK client over real HTTP."""

    id: str
    key: str
    client: AITBCClient


@dataclass
class World:
    node: Any
    alice: Party
    carol: Party
    miner: Party


async def _party(node: Any, role: str, name: str) -> Party:
    principal_id, key = await node.create_principal(role, name)
    transport = HTTPTransport({"base_url": node.url, "default_headers": {"X-API-Key": key}})
    return Party(principal_id, key, AITBCClient(transport))


@pytest.fixture
async def world(node: Any) -> AsyncIterator[World]:
    """Two clients (alice funded with 100 000) and one miner principal on a live node."""
    async for made in _world(node):
        yield made


@pytest.fixture
async def pg_world(pg_node: Any) -> AsyncIterator[World]:
    """The same on PostgreSQL."""
    async for made in _world(pg_node):
        yield made


async def _world(node: Any) -> AsyncIterator[World]:
    parties = [
        await _party(node, "client", "alice"),
        await _party(node, "client", "carol"),
        await _party(node, "miner", "bob"),
    ]
    await node.faucet(parties[0].id, 100_000)
    try:
        yield World(node, *parties)
    finally:
        for party in parties:
            await party.client.disconnect()
