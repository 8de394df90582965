"""Blobs end to end on a real node: parts, hashes, limits, who may read, job references."""

from __future__ import annotations

import base64
import os
from typing import Any

import httpx
import pytest

from aitbc import AITBCClient, HTTPTransport
from aitbc.core.blobs import PART_BYTES, blob_ref, sha256_hex
from aitbc.core.canonical import content_hash
from aitbc.core.receipts import attest, miner_claim
from aitbc.core.signing import SigningKey
from aitbc.errors import APIError, NotFoundError, ValidationError
from aitbc.node.embedded import run_node

from .conftest import World


async def test_upload_download_round_trip_in_parts(world: World) -> None:
    data = os.urandom(2 * PART_BYTES + 1234)
    blob = await world.alice.client.blobs.upload(data)
    assert blob.sha256 == sha256_hex(data)
    assert (blob.size, blob.parts) == (len(data), 3)
    assert await world.alice.client.blobs.download(blob.sha256) == data
    again = await world.alice.client.blobs.upload(data)  # already readable: not re-sent
    assert again.sha256 == blob.sha256


@pytest.mark.postgres
async def test_blobs_on_postgres(pg_world: World) -> None:
    data = os.urandom(PART_BYTES + 17)
    blob = await pg_world.alice.client.blobs.upload(data)
    assert await pg_world.alice.client.blobs.download(blob.sha256) == data
    with pytest.raises(NotFoundError):
        await pg_world.carol.client.blobs.get(blob.sha256)
    job = await pg_world.alice.client.jobs.create(
        job_type="echo", payload={"m": blob_ref(blob.sha256)}, price=1
    )
    assert job.payload == {"m": {"$blob": blob.sha256}}


async def test_upload_from_a_path_and_an_empty_blob(world: World, tmp_path: Any) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(b"weights")
    blob = await world.alice.client.blobs.upload(path)
    assert await world.alice.client.blobs.download(blob.sha256) == b"weights"
    empty = await world.alice.client.blobs.upload(b"")
    assert (empty.size, empty.parts) == (0, 1)
    assert await world.alice.client.blobs.download(empty.sha256) == b""


async def test_others_cannot_read_until_a_job_references_the_blob(world: World) -> None:
    blob = await world.alice.client.blobs.upload(b"private input")
    with pytest.raises(NotFoundError):
        await world.carol.client.blobs.download(blob.sha256)
    with pytest.raises(NotFoundError):
        await world.miner.client.blobs.get(blob.sha256)
    job = await world.alice.client.jobs.create(
        job_type="echo", payload={"input": blob_ref(blob.sha256)}, price=10
    )
    # The miner that claims the job may read it; carol still may not.
    miner = world.miner
    await miner.client.transport.request(
        "POST",
        "/v1/miners/register",
        {
            "public_key": SigningKey.generate().verify_key.b64,
            "capabilities": {"job_types": ["echo"]},
        },
    )
    claimed = await miner.client.transport.request("POST", "/v1/miners/poll", {})
    assert claimed["job"]["id"] == job.id
    assert await miner.client.blobs.download(blob.sha256) == b"private input"
    with pytest.raises(NotFoundError):
        await world.carol.client.blobs.download(blob.sha256)


async def test_unknown_or_unreadable_blob_in_a_job_is_refused_before_escrow(world: World) -> None:
    before = (await world.alice.client.wallet.balance()).balance
    unknown = sha256_hex(b"nobody uploaded this")
    with pytest.raises(NotFoundError) as caught:
        await world.alice.client.jobs.create(
            job_type="echo", payload={"m": blob_ref(unknown)}, price=10
        )
    assert caught.value.code == "blob_not_found"
    carols = await world.carol.client.blobs.upload(b"carol's")
    with pytest.raises(NotFoundError):
        await world.alice.client.jobs.create(
            job_type="echo", payload={"m": blob_ref(carols.sha256)}, price=10
        )
    with pytest.raises(ValidationError):
        await world.alice.client.jobs.create(
            job_type="echo", payload={"m": {"$blob": "not-a-hash"}}, price=10
        )
    assert (await world.alice.client.wallet.balance()).balance == before
    assert [job async for job in world.alice.client.jobs.list()] == []


async def test_node_rejects_bytes_that_do_not_hash_to_the_name(world: World) -> None:
    claimed = sha256_hex(b"what I say")
    async with httpx.AsyncClient(
        base_url=world.node.url, headers={"X-API-Key": world.alice.key}
    ) as http:
        part = {"data": base64.b64encode(b"what I send").decode()}
        put = await http.put(f"/v1/blobs/{claimed}/parts/0", json=part)
        assert put.status_code == 200, put.text
        done = await http.post(f"/v1/blobs/{claimed}/complete", json={"size": 11})
        assert done.status_code == 422
        assert done.json()["error"]["code"] == "blob_hash_mismatch"
        missing = await http.post(f"/v1/blobs/{claimed}/complete", json={"size": 11})
        assert missing.json()["error"]["code"] == "blob_incomplete"  # parts were dropped
        bad = await http.put(f"/v1/blobs/{claimed}/parts/0", json={"data": "%%%"})
        assert bad.status_code == 422
    with pytest.raises(NotFoundError):
        await world.alice.client.blobs.get(claimed)


async def test_size_limit_is_a_node_setting(tmp_path: Any) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'small.sqlite3'}"
    async with run_node(url, max_blob_bytes=PART_BYTES) as node:
        _, key = await node.create_principal("client", "alice")
        transport = HTTPTransport({"base_url": node.url, "default_headers": {"X-API-Key": key}})
        async with AITBCClient(transport) as client:
            ok = await client.blobs.upload(b"x" * PART_BYTES)
            assert ok.size == PART_BYTES
            with pytest.raises(APIError) as caught:
                await client.blobs.upload(b"x" * (PART_BYTES + 1))
            assert caught.value.status == 413


async def test_result_blobs_become_readable_by_the_client(world: World) -> None:
    key = SigningKey.generate()
    miner = world.miner.client
    await miner.transport.request(
        "POST",
        "/v1/miners/register",
        {"public_key": key.verify_key.b64, "capabilities": {"job_types": ["echo"]}},
    )
    job = await world.alice.client.jobs.create(job_type="echo", payload={"n": 1}, price=10)
    claimed = await miner.transport.request("POST", "/v1/miners/poll", {})
    info = await miner.transport.request("GET", "/v1/info")
    output = await miner.blobs.upload(b"a large output")

    def body(result: Any) -> dict[str, Any]:
        claim = miner_claim(
            {
                "job_id": job.id,
                "input_hash": content_hash(claimed["job"]["payload"]),
                "output_hash": content_hash(result),
                "units": 1,
                "price": "10",
                "chain_id": info["chain_id"],
                "coordinator_id": info["coordinator_id"],
                "miner_id": world.miner.id,
            }
        )
        att = attest(key, claim)
        return {
            "result": result,
            "units": 1,
            "attestation": {k: att[k] for k in ("alg", "key_id", "sig")},
        }

    unknown = {"out": blob_ref(sha256_hex(b"never uploaded"))}
    with pytest.raises(NotFoundError):
        await miner.transport.request("POST", f"/v1/miners/jobs/{job.id}/result", body(unknown))
    assert (await world.alice.client.jobs.get(job.id)).state == "RUNNING"
    with pytest.raises(NotFoundError):
        await world.alice.client.blobs.get(output.sha256)
    result = {"out": blob_ref(output.sha256)}
    done = await miner.transport.request("POST", f"/v1/miners/jobs/{job.id}/result", body(result))
    assert done["receipt"]["output_hash"] == content_hash(result)  # the receipt covers the id
    assert await world.alice.client.blobs.download(output.sha256) == b"a large output"
