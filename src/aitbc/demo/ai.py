"""The demo's AI phase: a batch ONNX classification and a streamed chat completion, each
bought per unit, streamed, checked and receipted. Each part runs only where its runtimes
are installed (docs/ai.md); without them the phase says so and adds no check, so the
demo passes on a bare install too.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from ..api.jobs import OutputChunk
from ..core.blobs import blob_ref
from ..errors import ReceiptVerificationError
from ..miner import Executor, Miner, MinerConfig
from ..models import JobResult
from ..node.embedded import EmbeddedNode
from .checks import Checks
from .digits import build_digits_model, digits_available
from .stack import Party, client_for, create_party
from .tiny_llm import MODEL_NAME, llama_available, llama_server, write_tiny_llama

ITEM_PRICE, TOKEN_PRICE = 10, 3
ROWS, MAX_TOKENS = 16, 24
FUNDS = 10_000


async def run_ai_phase(
    node: EmbeddedNode, checks: Checks, wait_seconds: float, workdir: Path
) -> str:
    """Run what this machine can (temporary files in ``workdir``); return the line that
    reports it."""
    parts = []
    if digits_available():
        parts.append(await _onnx(node, checks, wait_seconds, workdir))
    if llama_available():
        parts.append(await _chat(node, checks, wait_seconds, workdir))
    if not parts:
        return (
            "AI jobs skipped: install aitbc[onnx] + scikit-learn + skl2onnx (onnx) and "
            "scripts/install_llama.sh (chat)"
        )
    return "; ".join(parts)


@contextlib.asynccontextmanager
async def _miner(
    node: EmbeddedNode, name: str, job_type: str, executor: Executor
) -> AsyncIterator[Party]:
    party = await create_party(node, "miner", name)
    config = MinerConfig(
        coordinator=node.url,
        api_key=party.api_key,
        executors=[job_type],
        poll_wait=2.0,
        shutdown_grace=1.0,
        backoff_base=0.05,
    )
    async with Miner(config, executors={job_type: executor}).running(register_timeout=20):
        yield party


async def _stream(client: Any, job_id: str, wait_seconds: float) -> tuple[list[OutputChunk], Any]:
    async with asyncio.timeout(wait_seconds):
        items = [item async for item in client.jobs.stream(job_id)]
    return [i for i in items if isinstance(i, OutputChunk)], items[-1]


async def _receipt_ok(client: Any, final: Any, charged: int) -> bool:
    if not isinstance(final, JobResult):
        return False
    try:
        await client.receipts.verify(final.receipt.to_wire())
    except ReceiptVerificationError:
        return False
    return bool(final.receipt["charged"] == str(charged))


def _import_onnx_executor(workdir: Path) -> type[Executor]:
    """Import ONNX Runtime with TMPDIR in ``workdir``: on import it writes a telemetry
    session file (``.ses``) to the temp directory, which the demo must not leave behind."""
    saved = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(workdir)
    try:
        from ..miner.executors.onnx import OnnxExecutor
    finally:
        if saved is None:
            del os.environ["TMPDIR"]
        else:
            os.environ["TMPDIR"] = saved
    return OnnxExecutor


async def _onnx(node: EmbeddedNode, checks: Checks, wait_seconds: float, workdir: Path) -> str:
    onnx_executor = _import_onnx_executor(workdir)
    model = await asyncio.to_thread(build_digits_model)
    rows = model.features[:ROWS]
    expected = model.run_locally(rows)["label"].tolist()
    dave = await create_party(node, "client", "dave", FUNDS)
    async with (
        _miner(node, "miner-onnx", "onnx", onnx_executor()),
        client_for(node.url, dave.api_key) as client,
    ):
        blob = await client.blobs.upload(model.onnx)
        job = await client.jobs.create(
            job_type="onnx",
            payload={"model": blob_ref(blob.sha256), "inputs": {"input": rows.tolist()}},
            price=ITEM_PRICE * ROWS,
            pricing={"unit": "item", "unit_price": str(ITEM_PRICE), "max_units": ROWS},
        )
        chunks, final = await _stream(client, job.id, wait_seconds)
        labels = [c.chunk["outputs"]["label"] for c in chunks]
        paid = await _receipt_ok(client, final, ITEM_PRICE * ROWS)
    checks.add("onnx: per-item stream = local run", labels == expected, f"{len(labels)}/{ROWS}")
    checks.add("onnx: receipt verified, charged per item", paid)
    return f"onnx: {len(labels)} digits classified (streamed per item)"


async def _chat(node: EmbeddedNode, checks: Checks, wait_seconds: float, workdir: Path) -> str:
    from ..miner.executors.chat import ChatExecutor, InferenceServer

    erin = await create_party(node, "client", "erin", FUNDS)
    with tempfile.TemporaryDirectory(prefix="aitbc-llm-", dir=workdir) as tmp:
        model = await asyncio.to_thread(write_tiny_llama, Path(tmp) / "tiny.gguf")
        with contextlib.ExitStack() as stack:
            url, _ = await asyncio.to_thread(stack.enter_context, llama_server(model))
            executor = await asyncio.to_thread(ChatExecutor, InferenceServer(url))
            async with (
                _miner(node, "miner-chat", "chat", executor),
                client_for(node.url, erin.api_key) as client,
            ):
                payload = {
                    "model": MODEL_NAME,
                    "messages": [{"role": "user", "content": "hello market"}],
                    "max_tokens": MAX_TOKENS,
                    "temperature": 0,
                    "stream": True,
                }
                pricing = {"unit": "token", "unit_price": str(TOKEN_PRICE), "max_units": MAX_TOKENS}
                job = await client.jobs.create(
                    job_type="chat",
                    payload=payload,
                    constraints={"models": [MODEL_NAME]},
                    price=TOKEN_PRICE * MAX_TOKENS,
                    pricing=pricing,
                )
                chunks, final = await _stream(client, job.id, wait_seconds)
                text = "".join(str(c.chunk.get("delta", "")) for c in chunks)
                whole = isinstance(final, JobResult) and final.result["message"]["content"] == text
                paid = await _receipt_ok(client, final, TOKEN_PRICE * len(chunks))
            await asyncio.to_thread(stack.close)
    checks.add("chat: streamed tokens = the answer", whole and bool(chunks), f"{len(chunks)}")
    checks.add("chat: receipt verified, charged per token", paid)
    return f"chat: {len(chunks)} tokens streamed from llama.cpp"
