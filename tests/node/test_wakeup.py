"""Two workers on one PostgreSQL database: a job created on one wakes the long-polls
waiting on the other (LISTEN/NOTIFY at commit), not only their next recheck."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from .support import Actor


@pytest.mark.postgres
async def test_job_created_on_one_worker_wakes_pollers_of_another(
    postgres_url: str, node_factory: Any
) -> None:
    first = await node_factory(database_url=postgres_url)
    second = await node_factory(database_url=postgres_url)
    client_id, client_key = await first.create_principal("client", "alice")
    client = Actor(first.url, client_key, client_id)
    try:
        woken = second.node.job_wakeup.armed()
        assert not woken.is_set()
        await client.ok(
            "POST", "/v1/jobs", 201, json={"job_type": "echo", "payload": 1, "price": "0"}
        )
        async with asyncio.timeout(30):  # a hang guard, not a measurement
            await woken.wait()
    finally:
        await client.aclose()
