"""Signed receipts as the node issues them (protocol.md, "Receipts"), for settlement tests."""

from __future__ import annotations

import secrets
from typing import Any

from aitbc.core.canonical import content_hash
from aitbc.core.receipts import attest, miner_claim, sign_receipt
from aitbc.core.signing import SigningKey

RECIPIENT = "0x" + "ab" * 20


def make_receipt(
    coordinator: SigningKey,
    *,
    price: int = 1500,
    chain_id: int = 1,
    job_id: str | None = None,
) -> dict[str, Any]:
    """A coordinator-signed, miner-attested receipt for a fresh job."""
    miner = SigningKey.generate()
    body: dict[str, Any] = {
        "receipt_id": "rcpt_" + secrets.token_hex(8),
        "version": 1,
        "job_id": job_id or "job_" + secrets.token_hex(8),
        "client_id": "prn_client",
        "miner_id": "prn_miner",
        "job_type": "echo",
        "input_hash": content_hash({"x": 1}),
        "output_hash": content_hash({"y": 2}),
        "units": 1,
        "price": str(price),
        "chain_id": chain_id,
        "coordinator_id": "coord_test",
        "nonce": secrets.token_hex(16),
        "created_at": "2026-11-26T18:00:00Z",
        "started_at": "2026-11-26T18:00:01Z",
        "completed_at": "2026-11-26T18:00:02Z",
        "miner_key": miner.verify_key.b64,
    }
    body["attestations"] = [attest(miner, miner_claim(body))]
    return sign_receipt(coordinator, body)
