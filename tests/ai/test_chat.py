"""Chat completions through the marketplace, served by llama.cpp's real server running a
tiny model these tests generate (tiny_llm.py). Skipped, with the reason, where
llama-cpp-python[server] is not installed (scripts/install_llama.sh installs it)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from typing import Any

import pytest

from aitbc import Job, JobResult
from aitbc.api.jobs import OutputChunk
from aitbc.core.canonical import content_hash
from aitbc.core.output import chain_of
from aitbc.demo.tiny_llm import MODEL_NAME, llama_available, llama_server, write_tiny_llama
from aitbc.models import ChatCompletion, ChatModelList

from .conftest import World
from .cutting_proxy import CuttingProxy
from .helpers import run_cli, running_miner

openai = pytest.importorskip("openai")
if not llama_available():
    pytest.skip(
        "needs llama-cpp-python[server] and gguf (scripts/install_llama.sh)",
        allow_module_level=True,
    )
MESSAGES = [{"role": "user", "content": "hello market"}]
OFFER = {"offer_price": 2, "offer_unit": "token", "offer_max_units": 64}


@pytest.fixture(scope="module")
def llama(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    model = write_tiny_llama(tmp_path_factory.mktemp("llm") / "tiny.gguf")
    with llama_server(model) as (url, _process):
        yield url


def _chat_executor(url: str) -> Any:
    from aitbc.miner.executors.chat import ChatExecutor, InferenceServer

    return ChatExecutor(InferenceServer(url))


async def _direct(url: str, max_tokens: int) -> str:
    """The same request straight to the inference server (the reference answer)."""
    async with openai.AsyncOpenAI(base_url=url + "/v1", api_key="unused") as direct:
        answer = await direct.chat.completions.create(
            model=MODEL_NAME, messages=MESSAGES, max_tokens=max_tokens, temperature=0
        )
    return str(answer.choices[0].message.content)


def _chat_job(max_tokens: int, unit_price: int = 2) -> dict[str, Any]:
    return {
        "job_type": "chat",
        "payload": {
            "model": MODEL_NAME,
            "messages": MESSAGES,
            "max_tokens": max_tokens,
            "temperature": 0,
            "stream": True,
        },
        "constraints": {"models": [MODEL_NAME]},
        "price": unit_price * max_tokens,
        "pricing": {"unit": "token", "unit_price": str(unit_price), "max_units": max_tokens},
    }


async def test_the_miner_serves_the_models_its_server_lists(llama: str) -> None:
    assert _chat_executor(llama).models == (MODEL_NAME,)


async def test_streamed_chat_job_is_charged_per_token(world: World, llama: str) -> None:
    before = (await world.alice.client.wallet.balance()).balance
    async with running_miner(world.node.url, world.miner.key, {"chat": _chat_executor(llama)}):
        job = await world.alice.client.jobs.create(_chat_job(max_tokens=24))
        items = [item async for item in world.alice.client.jobs.stream(job.id)]
    chunks, final = items[:-1], items[-1]
    assert chunks and all(isinstance(c, OutputChunk) for c in chunks)
    assert isinstance(final, JobResult)
    text = "".join(c.chunk["delta"] for c in chunks)
    assert final.result["message"]["content"] == text
    assert text == await _direct(llama, 24)  # temperature 0: the same answer
    units = final.result["usage"]["completion_tokens"]
    assert 1 <= units <= 24 and final.receipt.units == units
    assert final.result["output"]["chain"] == chain_of(c.chunk for c in chunks)
    assert final.receipt.output_hash == content_hash(final.result)
    assert final.receipt["charged"] == str(2 * units)
    assert final.receipt["refunded"] == str(2 * (24 - units))
    assert (await world.alice.client.wallet.balance()).balance == before - 2 * units


async def test_openai_package_through_the_node(world: World, llama: str) -> None:
    expected = await _direct(llama, 20)
    async with (
        running_miner(world.node.url, world.miner.key, {"chat": _chat_executor(llama)}, **OFFER),
        openai.AsyncOpenAI(base_url=world.node.url + "/v1", api_key=world.alice.key) as client,
    ):
        models = await client.models.with_raw_response.list()
        # the answers are the shapes the node declares in /openapi.json
        listed = ChatModelList.model_validate(models.http_response.json())
        assert [m.id for m in listed.data] == [MODEL_NAME]
        raw = await client.chat.completions.with_raw_response.create(
            model=MODEL_NAME, messages=MESSAGES, max_tokens=20, temperature=0
        )
        answer = raw.parse()
        assert answer.choices[0].message.content == expected
        receipt_id = raw.headers["x-aitbc-receipt-id"]
        declared = ChatCompletion.model_validate(raw.http_response.json())
        assert declared.aitbc.receipt_id == receipt_id
        assert declared.aitbc.charged == 2 * declared.usage.completion_tokens
        stream = await client.chat.completions.create(
            model=MODEL_NAME, messages=MESSAGES, max_tokens=20, temperature=0, stream=True
        )
        pieces, last = [], None
        async for chunk in stream:
            last = chunk
            if chunk.choices and chunk.choices[0].delta.content:
                pieces.append(chunk.choices[0].delta.content)
    assert "".join(pieces) == expected
    assert last is not None and last.choices[0].finish_reason == "length"
    streamed = last.model_extra["aitbc"]
    receipt = await world.alice.client.receipts.get(streamed["receipt_id"])
    assert receipt.job_id == streamed["job_id"] and receipt["charged"] == streamed["charged"]
    assert last.usage is not None and int(streamed["charged"]) == 2 * last.usage.completion_tokens
    first = await world.alice.client.receipts.get(receipt_id)
    assert first.units == answer.usage.completion_tokens


async def test_door_sends_the_deltas_of_one_post_as_one_chunk(world: World, llama: str) -> None:
    # A minute between the miner's posts: the first token goes at once, the rest at the
    # answer's end. The door turns each post into one chunk, not one per token.
    expected = await _direct(llama, 20)
    plugins = {"chat": _chat_executor(llama)}
    async with (
        running_miner(world.node.url, world.miner.key, plugins, output_interval=60, **OFFER),
        openai.AsyncOpenAI(base_url=world.node.url + "/v1", api_key=world.alice.key) as client,
    ):
        stream = await client.chat.completions.create(
            model=MODEL_NAME, messages=MESSAGES, max_tokens=20, temperature=0, stream=True
        )
        chunks = [chunk async for chunk in stream]
    contents = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    assert "".join(contents) == expected
    assert 1 <= len(contents) <= 2  # not one per token
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 20


async def test_door_streams_on_postgres(pg_world: World, llama: str) -> None:
    # The door follows its job through the realtime hub; on PostgreSQL too.
    expected = await _direct(llama, 16)
    world = pg_world
    async with (
        running_miner(world.node.url, world.miner.key, {"chat": _chat_executor(llama)}, **OFFER),
        openai.AsyncOpenAI(base_url=world.node.url + "/v1", api_key=world.alice.key) as client,
    ):
        stream = await client.chat.completions.create(
            model=MODEL_NAME, messages=MESSAGES, max_tokens=16, temperature=0, stream=True
        )
        chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == expected
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 16
    assert int(chunks[-1].model_extra["aitbc"]["charged"]) == 2 * 16


async def test_server_dying_mid_stream_fails_the_job_and_refunds_the_rest(
    world: World, llama: str
) -> None:
    before = (await world.alice.client.wallet.balance()).balance
    port = int(llama.rsplit(":", 1)[1])
    async with CuttingProxy(port, limit=1500) as proxy:
        # Built off the loop: it lists the models through the proxy served by this loop.
        executor = await asyncio.to_thread(_chat_executor, proxy.url)
        async with running_miner(world.node.url, world.miner.key, {"chat": executor}):
            job = await world.alice.client.jobs.create(_chat_job(max_tokens=200, unit_price=3))
            items = [item async for item in world.alice.client.jobs.stream(job.id)]
    assert proxy.cuts >= 1
    chunks, final = items[:-1], items[-1]
    assert isinstance(final, Job) and final.state == "FAILED"
    assert "inference server failed mid-stream" in (final.error or "")
    assert 1 <= len(chunks) < 200
    owed = 3 * len(chunks)  # each streamed token is charged, the rest refunded
    assert (await world.alice.client.wallet.balance()).balance == before - owed
    assert (await world.miner.client.wallet.balance()).balance == owed
    again = [item async for item in world.alice.client.jobs.stream(job.id)]
    assert [c.chunk for c in again[:-1] if isinstance(c, OutputChunk)] == [
        c.chunk for c in chunks if isinstance(c, OutputChunk)
    ]


async def test_cli_chat_streams_the_answer(
    world: World, llama: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith("AITBC_") and not name.startswith("AITBC_TEST_"):
            monkeypatch.delenv(name)
    expected = await _direct(llama, 12)
    flags = ["--node", world.node.url, "--api-key", world.alice.key]
    async with running_miner(
        world.node.url, world.miner.key, {"chat": _chat_executor(llama)}, **OFFER
    ):
        ran = await run_cli(
            "chat", "hello market", "--model", MODEL_NAME, "--max-tokens", "12",
            "--temperature", "0", *flags,
        )  # fmt: skip
        dear = await run_cli(
            "chat", "hi", "--model", MODEL_NAME, "--max-price-per-token", "1", *flags
        )
    assert ran.exit_code == 0, ran.stderr
    assert ran.stdout == expected + "\n"
    assert "charged" in ran.stderr and "receipt rcpt_" in ran.stderr
    assert dear.exit_code == 2 and "no open per-token offer" in dear.stderr
