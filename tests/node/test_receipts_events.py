"""Receipts verify offline and break when touched; events reach listeners after commit."""

from __future__ import annotations

from typing import Any

import pytest

from aitbc.core.receipts import verify_receipt
from aitbc.core.signing import SigningKey, VerifyKey
from aitbc.errors import ReceiptVerificationError
from aitbc.node.events import EventRecord

from .conftest import Cast, make_cast
from .support import info

JOB = {"job_type": "echo", "payload": {"q": "2+2"}, "price": "40"}


async def _complete(cast: Cast) -> tuple[dict[str, Any], dict[str, Any]]:
    node_info = await info(cast.node)
    job = await cast.client.ok("POST", "/v1/jobs", 201, json=JOB)
    claimed = await cast.miner.poll()
    body = cast.miner.result_body(claimed, {"a": 4}, node_info, units=3)
    done = await cast.miner.ok("POST", f"/v1/miners/jobs/{job['id']}/result", json=body)
    return done["receipt"], node_info


def _keys(node_info: dict[str, Any]) -> dict[str, VerifyKey]:
    return {k["key_id"]: VerifyKey.from_b64(k["public_key"]) for k in node_info["signing_keys"]}


async def test_receipt_fields_and_tampering(cast: Cast) -> None:
    receipt, node_info = await _complete(cast)
    keys = _keys(node_info)
    verify_receipt(receipt, keys, chain_id=1)
    assert receipt["units"] == 3 and receipt["price"] == "40" and len(receipt["nonce"]) == 32
    assert receipt["coordinator_id"] == node_info["coordinator_id"]
    assert receipt["input_hash"].startswith("sha256:") and receipt["miner_id"] == cast.miner.id
    for field, value in [
        ("price", "1"),
        ("units", 4),
        ("output_hash", "sha256:00"),
        ("chain_id", 2),
        ("miner_id", cast.other.id),
    ]:
        with pytest.raises(ReceiptVerificationError):
            verify_receipt({**receipt, field: value}, keys)
    with pytest.raises(ReceiptVerificationError, match="chain"):
        verify_receipt(receipt, keys, chain_id=5)
    impostor = SigningKey.generate()
    with pytest.raises(ReceiptVerificationError, match="unknown key"):
        verify_receipt(receipt, {impostor.key_id: impostor.verify_key})


async def test_receipt_from_another_node_does_not_verify(cast: Cast, node_factory: Any) -> None:
    other = await node_factory(chain_id=5)
    receipt, _ = await _complete(cast)
    with pytest.raises(ReceiptVerificationError):
        verify_receipt(receipt, _keys(await info(other)))


async def test_listeners_get_committed_events_only(node_factory: Any) -> None:
    node = await node_factory()
    seen: list[EventRecord] = []

    async def listener(records: list[EventRecord]) -> None:
        seen.extend(records)

    node.app.state.event_listeners.append(listener)
    async for cast in make_cast(node):
        seen.clear()
        await cast.other.err("POST", "/v1/jobs", 402, "insufficient_funds", json=JOB)
        assert seen == []  # rolled back: nothing published
        receipt, _ = await _complete(cast)
        topics = {(r.topic, r.event) for r in seen}
        assert (f"receipts:{cast.client.id}", "receipt.issued") in topics
        assert (f"jobs:{cast.client.id}", "job.completed") in topics
        assert (f"account:{cast.miner.id}", "ledger.credit") in topics
        issued = next(r for r in seen if r.event == "receipt.issued")
        assert issued.data == receipt and issued.seq == 1
