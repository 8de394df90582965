"""The OpenAI-compatible door with the official ``openai`` package, unmodified.

These tests need no inference server: they check the model list and every refusal
that must come before money moves. Completions through a real llama.cpp server are in
test_chat.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from aitbc.core.signing import SigningKey

from .conftest import World

openai = pytest.importorskip("openai")


async def _offer(world: World, **terms: Any) -> dict[str, Any]:
    transport = world.miner.client.transport
    await transport.request(
        "POST",
        "/v1/miners/register",
        {
            "public_key": SigningKey.generate().verify_key.b64,
            "capabilities": {"job_types": ["chat"], "models": ["m-small", "m-large"]},
        },
    )
    body = {"capacity": 1, "price_per_unit": "2", "models": ["m-small"], **terms}
    offer: dict[str, Any] = await transport.request("POST", "/v1/marketplace/offers", body)
    return offer


def _openai(world: World, key: str) -> Any:
    return openai.AsyncOpenAI(base_url=world.node.url + "/v1", api_key=key, max_retries=0)


async def test_models_lists_what_live_miners_offer_with_prices(world: World) -> None:
    await _offer(world, unit="token", max_units=64)
    await _offer(world, price_per_unit="1", unit="token", max_units=32)
    async with _openai(world, world.alice.key) as client:
        models = await client.models.list()
    assert [m.id for m in models.data] == ["m-small"]
    terms = models.data[0].model_extra["aitbc"]
    assert terms == {"offers": 2, "unit": "token", "price_per_unit": "1", "max_units": 32}


async def test_refusals_come_before_money_moves(world: World) -> None:
    await _offer(world, unit="token", max_units=64)
    before = (await world.alice.client.wallet.balance()).balance
    messages = [{"role": "user", "content": "hi"}]
    async with _openai(world, world.alice.key) as client:
        with pytest.raises(openai.NotFoundError) as unknown:
            await client.chat.completions.create(model="m-large", messages=messages)
        assert "no live miner offers model 'm-large'" in unknown.value.message
        with pytest.raises(openai.UnprocessableEntityError) as too_long:
            await client.chat.completions.create(model="m-small", messages=messages, max_tokens=65)
        assert "above the offer's limit of 64" in too_long.value.message
        with pytest.raises(openai.UnprocessableEntityError):
            await client.chat.completions.create(model="m-small", messages=[])
    async with _openai(world, "not-a-key") as stranger:
        with pytest.raises(openai.AuthenticationError):
            await stranger.models.list()
    async with _openai(world, world.miner.key) as miner:
        with pytest.raises(openai.PermissionDeniedError):
            await miner.chat.completions.create(model="m-small", messages=messages)
    async with _openai(world, world.carol.key) as poor:  # carol has no funds
        with pytest.raises(openai.APIStatusError) as broke:
            await poor.chat.completions.create(model="m-small", messages=messages, max_tokens=8)
        assert broke.value.status_code == 402
    assert (await world.alice.client.wallet.balance()).balance == before
    assert [job async for job in world.alice.client.jobs.list()] == []
