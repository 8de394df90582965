"""The onnx executor in a real miner against a real node, on a model built here."""

from __future__ import annotations

from typing import Any

import pytest

from aitbc import Job, JobResult
from aitbc.api.jobs import OutputChunk
from aitbc.core.blobs import blob_ref
from aitbc.core.canonical import content_hash
from aitbc.core.output import chain_of
from aitbc.demo.digits import DigitsModel, build_digits_model, digits_available

from .conftest import World
from .helpers import running_miner

if not digits_available():
    pytest.skip("needs the onnx extra, scikit-learn and skl2onnx", allow_module_level=True)


@pytest.fixture(scope="module")
def digits() -> DigitsModel:
    return build_digits_model()


def _executor() -> Any:
    from aitbc.miner.executors.onnx import OnnxExecutor

    return OnnxExecutor()


async def test_batch_classification_streams_one_chunk_per_item(
    world: World, digits: DigitsModel, tmp_path: Any
) -> None:
    blob = await world.alice.client.blobs.upload(digits.onnx)
    rows = digits.features[:40]
    expected = digits.run_locally(rows)
    async with running_miner(
        world.node.url, world.miner.key, {"onnx": _executor()}, blob_cache_dir=tmp_path
    ):
        job = await world.alice.client.jobs.create(
            job_type="onnx",
            payload={
                "model": blob_ref(blob.sha256),
                "inputs": {"input": rows.tolist()},
                "batch_size": 16,
            },
            price=400,
        )
        seen = [item async for item in world.alice.client.jobs.stream(job.id)]
    chunks, final = seen[:-1], seen[-1]
    assert all(isinstance(c, OutputChunk) for c in chunks)
    assert [c.index for c in chunks] == list(range(40))
    labels = [c.chunk["outputs"]["label"] for c in chunks]
    assert labels == expected["label"].tolist()
    for chunk, probs in zip(chunks, expected["probabilities"], strict=True):
        assert chunk.chunk["outputs"]["probabilities"] == pytest.approx(probs.tolist(), abs=1e-6)
    accuracy = sum(int(a == b) for a, b in zip(labels, digits.labels[:40], strict=True)) / 40
    assert accuracy >= 0.85
    assert isinstance(final, JobResult)
    assert final.result["items"] == 40
    assert final.result["outputs"]["label"] == labels
    # The receipt commits to the whole stream: output summary inside the signed result.
    assert final.result["output"] == {"chunks": 40, "chain": chain_of(c.chunk for c in chunks)}
    assert final.receipt.output_hash == content_hash(final.result)
    assert final.receipt.units == 40
    assert (tmp_path / blob.sha256).read_bytes() == digits.onnx  # cached by hash


async def test_stream_resumes_without_repeating_chunks(world: World, digits: DigitsModel) -> None:
    blob = await world.alice.client.blobs.upload(digits.onnx)
    rows = digits.features[:5].tolist()
    async with running_miner(world.node.url, world.miner.key, {"onnx": _executor()}):
        job = await world.alice.client.jobs.create(
            job_type="onnx",
            payload={"model": blob_ref(blob.sha256), "inputs": {"input": rows}},
            price=50,
        )
        first = [item async for item in world.alice.client.jobs.stream(job.id)]
    events = [e async for e in _events(world, job.id)]
    seq_of_third = next(
        e["seq"] for e in events if e["event"] == "job.output" and e["data"]["index"] == 2
    )
    rest = [item async for item in world.alice.client.jobs.stream(job.id, resume_from=seq_of_third)]
    assert [c.index for c in rest[:-1]] == [3, 4]
    assert [c.index for c in first[:-1]] == [0, 1, 2, 3, 4]
    assert isinstance(rest[-1], JobResult)


async def _events(world: World, job_id: str) -> Any:
    async for event in world.alice.client.jobs.events(job_id):
        yield event
        if event["event"] == "job.completed":
            return


async def test_wrong_tensor_shape_fails_the_job_and_refunds(
    world: World, digits: DigitsModel
) -> None:
    blob = await world.alice.client.blobs.upload(digits.onnx)
    before = (await world.alice.client.wallet.balance()).balance
    async with running_miner(world.node.url, world.miner.key, {"onnx": _executor()}):
        job = await world.alice.client.jobs.create(
            job_type="onnx",
            payload={"model": blob_ref(blob.sha256), "inputs": {"input": [[0.0] * 63]}},
            price=50,
        )
        seen = [item async for item in world.alice.client.jobs.stream(job.id)]
    assert len(seen) == 1 and isinstance(seen[0], Job)
    assert seen[0].state == "FAILED"
    assert "inputs.input has shape [1, 63], the model expects ['N', 64]" in (seen[0].error or "")
    assert (await world.alice.client.wallet.balance()).balance == before


async def test_a_blob_that_is_not_a_model_fails_clearly(world: World) -> None:
    blob = await world.alice.client.blobs.upload(b"not an onnx file")
    async with running_miner(world.node.url, world.miner.key, {"onnx": _executor()}):
        job = await world.alice.client.jobs.create(
            job_type="onnx",
            payload={"model": blob_ref(blob.sha256), "inputs": {"input": [[1.0]]}},
            price=5,
        )
        done = await world.alice.client.jobs.wait_for_completion(job.id, timeout=60)
    assert done.state == "FAILED"
    assert "is not a loadable ONNX model" in (done.error or "")
