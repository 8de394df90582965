"""Client-side unit-test helpers: a node emulated in a MockTransport handler, and receipts
signed with real Ed25519 keys."""

from __future__ import annotations

import base64
from typing import Any

from aitbc.core.receipts import attest, miner_claim, sign_receipt
from aitbc.core.signing import SigningKey
from aitbc.errors import NotFoundError
from aitbc.transports.mock import MockRequest

NOW = "2026-11-26T18:20:28.123456Z"


def info(chain_id: int = 7, key: SigningKey | None = None) -> dict[str, Any]:
    keys = []
    if key is not None:
        keys = [{"key_id": key.key_id, "alg": "ed25519", "public_key": key.verify_key.b64}]
    return {"chain_id": chain_id, "version": "t", "coordinator_id": "coord_t", "signing_keys": keys}


def job(job_id: str = "job_1", state: str = "QUEUED", price: str = "100") -> dict[str, Any]:
    return {
        "id": job_id,
        "client_id": "prn_c",
        "job_type": "echo",
        "payload": {"x": 1},
        "constraints": {"models": [], "min_gpu_memory_gb": 0, "region": None, "max_price": None},
        "price": price,
        "state": state,
        "miner_id": None,
        "attempts": 0,
        "ttl_seconds": 3600,
        "created_at": NOW,
        "updated_at": NOW,
        "expires_at": NOW,
        "lease_expires_at": None,
        "error": None,
        "receipt_id": None,
    }


def signed_receipt(coordinator: SigningKey, chain_id: int = 7) -> dict[str, Any]:
    miner = SigningKey.generate()
    body: dict[str, Any] = {
        "receipt_id": "rcpt_1",
        "version": 1,
        "job_id": "job_1",
        "client_id": "prn_c",
        "miner_id": "prn_m",
        "job_type": "echo",
        "input_hash": "sha256:" + "0" * 64,
        "output_hash": "sha256:" + "1" * 64,
        "units": 1,
        "price": "100",
        "chain_id": chain_id,
        "coordinator_id": "coord_t",
        "nonce": base64.b16encode(b"n" * 16).decode().lower(),
        "created_at": NOW,
        "started_at": NOW,
        "completed_at": NOW,
        "miner_key": miner.verify_key.b64,
    }
    body["attestations"] = [attest(miner, miner_claim(body))]
    return sign_receipt(coordinator, body)


def info_only(chain_id: int = 7) -> Any:
    def handler(request: MockRequest) -> dict[str, Any]:
        if request.path == "/v1/info":
            return info(chain_id)
        raise NotFoundError(f"no route {request.path}", status=404, code="not_found")

    return handler
