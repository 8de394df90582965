"""The whole life of a job over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx

from aitbc.core.receipts import verify_receipt
from aitbc.core.signing import VerifyKey

from .conftest import Cast
from .support import info


async def test_job_life(any_cast: Cast) -> None:
    node, client, miner = any_cast.node, any_cast.client, any_cast.miner
    node_info = await info(node)
    offer = await miner.ok(
        "POST", "/v1/marketplace/offers", 201, json={"capacity": 2, "price_per_unit": "100"}
    )
    assert offer["state"] == "open"
    job = await client.ok(
        "POST",
        "/v1/jobs",
        201,
        json={"job_type": "echo", "payload": {"text": "hi"}, "price": "250"},
        headers={"Idempotency-Key": "life-1"},
    )
    again = await client.ok(
        "POST",
        "/v1/jobs",
        200,
        json={"job_type": "echo", "payload": {"text": "hi"}, "price": "250"},
        headers={"Idempotency-Key": "life-1"},
    )
    assert again["id"] == job["id"]
    await client.err("GET", f"/v1/jobs/{job['id']}/result", 425, "job_not_ready")

    claimed = await miner.poll(wait=2)
    assert claimed["id"] == job["id"] and claimed["state"] == "RUNNING"
    done = await miner.ok(
        "POST",
        f"/v1/miners/jobs/{job['id']}/result",
        json=miner.result_body(claimed, {"text": "hi"}, node_info),
    )
    assert done["job"]["state"] == "COMPLETED"

    result = await client.ok("GET", f"/v1/jobs/{job['id']}/result")
    assert result["result"] == {"text": "hi"}
    receipt = result["receipt"]
    keys = {k["key_id"]: VerifyKey.from_b64(k["public_key"]) for k in node_info["signing_keys"]}
    verify_receipt(receipt, keys, chain_id=1)
    assert "payload" not in receipt and "result" not in receipt
    assert receipt == await client.ok("GET", f"/v1/receipts/{receipt['receipt_id']}")

    assert (await client.ok("GET", "/v1/wallet/balance"))["balance"] == "9750"
    assert (await miner.ok("GET", "/v1/wallet/balance"))["balance"] == "250"
    history = await client.ok("GET", "/v1/wallet/history")
    assert [t["kind"] for t in history["items"]] == ["escrow", "mint"]


async def test_info_health_metrics_openapi(node: Any) -> None:
    async with httpx.AsyncClient(base_url=node.url) as http:
        assert (await http.get("/health")).json() == {"status": "ok"}
        metrics = (await http.get("/metrics")).text
        spec = (await http.get("/openapi.json")).json()
    assert 'aitbc_jobs{state="QUEUED"} 0.0' in metrics
    assert "aitbc_http_requests_total" in metrics
    assert "/v1/miners/poll" in spec["paths"]
