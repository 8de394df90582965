from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from .support import Actor, TestMiner, make_actor


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_node(request: pytest.FixtureRequest) -> Any:
    """The same test on SQLite and on PostgreSQL."""
    name = "node" if request.param == "sqlite" else "pg_node"
    return request.getfixturevalue(name)


class Cast:
    """A client with funds, a second client, a registered miner and an admin."""

    def __init__(
        self, node: Any, client: Actor, other: Actor, miner: TestMiner, admin: Actor
    ) -> None:
        self.node, self.client, self.other, self.miner, self.admin = (
            node,
            client,
            other,
            miner,
            admin,
        )


async def make_cast(node: Any) -> AsyncIterator[Cast]:
    client = await make_actor(node, "client", "alice")
    other = await make_actor(node, "client", "carol")
    miner = await make_actor(node, "miner", "bob")
    assert isinstance(miner, TestMiner)
    admin = Actor(node.url, node.admin_key)
    await node.faucet(client.id, 10_000)
    await miner.register()
    try:
        yield Cast(node, client, other, miner, admin)
    finally:
        for actor in (client, other, miner, admin):
            await actor.aclose()


@pytest.fixture
async def cast(node: Any) -> AsyncIterator[Cast]:
    async for c in make_cast(node):
        yield c


@pytest.fixture
async def any_cast(any_node: Any) -> AsyncIterator[Cast]:
    async for c in make_cast(any_node):
        yield c
