"""Receipts: what is signed, by whom, and how a verifier checks it offline.

A receipt is signed twice. The miner attests to its claim (see :func:`miner_claim`);
the coordinator signs the whole receipt (attestations included) minus its own
``signature``. A verifier takes coordinator keys from the node's ``/v1/info`` and never
from the receipt; the miner key inside is trusted only because the coordinator signed it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ReceiptVerificationError
from .canonical import canonical_json
from .signing import ALG, SigningKey, VerifyKey

CLAIM_FIELDS = (
    "job_id",
    "input_hash",
    "output_hash",
    "units",
    "price",
    "chain_id",
    "coordinator_id",
    "miner_id",
)


def miner_claim(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a receipt the miner signs, picked from ``fields``."""
    missing = [name for name in CLAIM_FIELDS if name not in fields]
    if missing:
        raise ReceiptVerificationError(f"claim lacks {', '.join(missing)}")
    return {name: fields[name] for name in CLAIM_FIELDS}


def attest(miner_key: SigningKey, claim: Mapping[str, Any]) -> dict[str, str]:
    """The miner's attestation object over ``claim``."""
    signature = miner_key.sign(canonical_json(dict(claim)))
    return {"role": "miner", **signature}


def signed_body(receipt: Mapping[str, Any]) -> bytes:
    """The bytes the coordinator signs: the receipt without ``signature``."""
    body = {k: v for k, v in receipt.items() if k != "signature"}
    return canonical_json(body)


def sign_receipt(coordinator_key: SigningKey, body: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``body`` with the coordinator's ``signature`` added."""
    receipt = dict(body)
    receipt["signature"] = coordinator_key.sign(signed_body(receipt))
    return receipt


def verify_attestation(receipt: Mapping[str, Any]) -> None:
    """Check the miner attestation against the miner key the receipt carries."""
    attestations = receipt.get("attestations") or []
    miner = [a for a in attestations if isinstance(a, Mapping) and a.get("role") == "miner"]
    if len(miner) != 1:
        raise ReceiptVerificationError("receipt must carry exactly one miner attestation")
    try:
        key = VerifyKey.from_b64(str(receipt["miner_key"]))
    except (KeyError, ValueError) as exc:
        raise ReceiptVerificationError("receipt carries no valid miner key") from exc
    att = miner[0]
    if att.get("alg") != ALG or att.get("key_id") != key.key_id:
        raise ReceiptVerificationError("miner attestation key does not match the miner key")
    if not key.verify(str(att.get("sig", "")), canonical_json(miner_claim(receipt))):
        raise ReceiptVerificationError("miner attestation does not verify")


def verify_receipt(
    receipt: Mapping[str, Any],
    trusted_keys: Mapping[str, VerifyKey],
    *,
    chain_id: int | None = None,
) -> None:
    """Verify ``receipt`` offline; raise ReceiptVerificationError if anything is off.

    ``trusted_keys`` maps key ids to the coordinator keys published by the node that
    issued the receipt. A signature by any other key fails, whatever the receipt claims.
    """
    signature = receipt.get("signature")
    if not isinstance(signature, Mapping):
        raise ReceiptVerificationError("receipt is not signed")
    key = trusted_keys.get(str(signature.get("key_id")))
    if key is None or signature.get("alg") != ALG:
        raise ReceiptVerificationError(f"receipt signed by unknown key {signature.get('key_id')!r}")
    if not key.verify(str(signature.get("sig", "")), signed_body(receipt)):
        raise ReceiptVerificationError("coordinator signature does not verify")
    if chain_id is not None and receipt.get("chain_id") != chain_id:
        raise ReceiptVerificationError(
            f"receipt is for chain {receipt.get('chain_id')}, expected {chain_id}"
        )
    verify_attestation(receipt)
