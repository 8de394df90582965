"""The OpenAI door never waits forever and never takes money for a job nobody can run.

Found by fuzzing: a miner registered for ``echo`` only offered a model, so the door
escrowed a chat job for it that no miner could ever claim and followed the job's events
until the 600 s ttl, long after the client gave up. Now such an offer does not make a
model (404 before any money moves), and a door job that a capable miner does not finish
ends at the node's ``door_ttl_seconds``: expired, refunded, answered 504.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from aitbc.core.signing import SigningKey

from .conftest import World, _world

openai = pytest.importorskip("openai")

#: The body the fuzzer sent (a 200-character model name, an empty tool message).
FUZZ_MODEL = "0" * 200
FUZZ_BODY = {"messages": [{"content": "", "role": "tool"}], "model": FUZZ_MODEL}


async def _offer(world: World, job_types: list[str], models: list[str]) -> None:
    transport = world.miner.client.transport
    caps = {"job_types": job_types, "models": models}
    body = {"public_key": SigningKey.generate().verify_key.b64, "capabilities": caps}
    await transport.request("POST", "/v1/miners/register", body)
    offer = {"capacity": 1, "price_per_unit": "3", "models": models, "unit": "token"}
    await transport.request("POST", "/v1/marketplace/offers", {**offer, "max_units": 16})


async def _door(world: World, body: dict[str, Any]) -> httpx.Response:
    headers = {"Authorization": f"Bearer {world.alice.key}"}
    # a generous client timeout: the point is that the door answers, not how fast
    async with httpx.AsyncClient(base_url=world.node.url, headers=headers, timeout=60) as http:
        return await http.post("/v1/chat/completions", json=body)


async def _money(world: World) -> tuple[int, int]:
    balance = await world.alice.client.wallet.balance()
    return balance.balance, balance.escrowed


@pytest.fixture
async def short_world(
    node_factory: Callable[..., Awaitable[Any]],
) -> AsyncIterator[World]:
    """A world whose door jobs live one second."""
    async for made in _world(await node_factory(door_ttl_seconds=1)):
        yield made


async def test_an_offer_by_a_miner_that_cannot_serve_chat_is_no_model(world: World) -> None:
    await _offer(world, ["echo"], [FUZZ_MODEL])
    before = await _money(world)
    answer = await _door(world, FUZZ_BODY)
    assert answer.status_code == 404, answer.text
    assert answer.json()["error"]["code"] == "model_not_found"
    async with openai.AsyncOpenAI(
        base_url=world.node.url + "/v1", api_key=world.alice.key, max_retries=0
    ) as client:
        assert [m.id async for m in client.models.list()] == []
    assert await _money(world) == before
    assert [job async for job in world.alice.client.jobs.list()] == []


async def test_an_offered_model_the_miner_does_not_serve_is_no_model(world: World) -> None:
    await _offer(world, ["chat"], ["m-small"])  # capabilities list m-small only
    transport = world.miner.client.transport
    body = {"capacity": 1, "price_per_unit": "1", "models": [FUZZ_MODEL], "unit": "job"}
    await transport.request("POST", "/v1/marketplace/offers", body)
    answer = await _door(world, FUZZ_BODY)
    assert answer.status_code == 404, answer.text
    assert [job async for job in world.alice.client.jobs.list()] == []


async def test_a_door_job_no_miner_takes_expires_refunded_with_504(short_world: World) -> None:
    world = short_world
    await _offer(world, ["chat"], ["m-small"])  # a capable miner that never polls
    before = await _money(world)
    body = {"model": "m-small", "messages": [{"role": "user", "content": "hi"}]}
    answer = await _door(world, body)
    assert answer.status_code == 504, answer.text
    error = answer.json()["error"]
    assert error["code"] == "job_expired"
    assert "refunded" in error["message"]
    job = await world.alice.client.jobs.get(answer.headers["X-AITBC-Job-Id"])
    assert job.state == "EXPIRED"
    assert job.price == 3 * 16
    assert await _money(world) == before


async def test_a_streamed_door_job_no_miner_takes_ends_with_an_error(short_world: World) -> None:
    world = short_world
    await _offer(world, ["chat"], ["m-small"])
    before = await _money(world)
    body = {"model": "m-small", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    answer = await _door(world, body)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/event-stream")
    events = [line for line in answer.text.splitlines() if line.startswith("data: ")]
    assert '"role":"assistant"' in events[0]
    assert '"code":"job_expired"' in events[-1]
    assert await _money(world) == before


async def test_the_door_expires_its_job_itself_when_the_sweeper_is_idle(
    node_factory: Callable[..., Awaitable[Any]],
) -> None:
    node = await node_factory(door_ttl_seconds=1, sweep_interval=3600)
    async for world in _world(node):
        await _offer(world, ["chat"], ["m-small"])
        before = await _money(world)
        body = {"model": "m-small", "messages": [{"role": "user", "content": "hi"}]}
        answer = await _door(world, body)
        assert answer.status_code == 504, answer.text
        assert await _money(world) == before


async def test_an_offer_is_listed_and_sold_only_while_its_miner_is_live(world: World) -> None:
    runtime = world.node.node
    heard = runtime.clock()
    runtime.clock = lambda: heard  # the miner registers (is heard from) at exactly `heard`
    await _offer(world, ["chat"], [FUZZ_MODEL])
    window = runtime.settings.miner_live_seconds

    async def listed() -> list[str]:
        async with openai.AsyncOpenAI(
            base_url=world.node.url + "/v1", api_key=world.alice.key, max_retries=0
        ) as client:
            return [m.id async for m in client.models.list()]

    runtime.clock = lambda: heard + timedelta(seconds=window - 1)
    assert await listed() == [FUZZ_MODEL]
    runtime.clock = lambda: heard + timedelta(seconds=window + 1)
    assert await listed() == []
    before = await _money(world)
    answer = await _door(world, FUZZ_BODY)
    assert answer.status_code == 404, answer.text
    assert answer.json()["error"]["code"] == "model_not_found"
    assert await _money(world) == before
