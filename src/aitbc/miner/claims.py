"""Sans-I/O pieces of the miner protocol: node identity, capabilities, result bodies.

No I/O here: dicts in, dicts out, so the wire shapes are tested without a node.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..core.canonical import content_hash
from ..core.receipts import attest, miner_claim, verify_receipt
from ..core.signing import SigningKey, VerifyKey
from ..errors import ConfigurationError, ProtocolError, ReceiptVerificationError
from .executors import Execution, Executor


@dataclass(frozen=True)
class NodeIdentity:
    """What ``GET /v1/info`` says about the node: the values a claim must carry and the
    keys its receipts must be signed with."""

    chain_id: int
    coordinator_id: str
    signing_keys: Mapping[str, VerifyKey]

    @classmethod
    def from_info(cls, info: Mapping[str, Any]) -> NodeIdentity:
        """Parse an info document; raise ProtocolError when it is not one."""
        try:
            keys = {}
            for entry in info["signing_keys"]:
                key = VerifyKey.from_b64(str(entry["public_key"]))
                keys[key.key_id] = key
            chain_id = info["chain_id"]
            coordinator_id = info["coordinator_id"]
        except (KeyError, TypeError, ConfigurationError) as exc:
            raise ProtocolError(f"node info is malformed: {exc!r}") from exc
        if not isinstance(chain_id, int) or not isinstance(coordinator_id, str):
            raise ProtocolError("node info has a bad chain_id or coordinator_id")
        return cls(chain_id=chain_id, coordinator_id=coordinator_id, signing_keys=keys)


def capabilities(
    executors: Mapping[str, Executor],
    *,
    models: Sequence[str] = (),
    gpu_memory_gb: int = 0,
    region: str | None = None,
    min_price: int = 0,
) -> dict[str, Any]:
    """The ``capabilities`` object of a registration: job types are the executors;
    ``min_price`` (base units) is the least a job must pay to be offered to us."""
    all_models = list(dict.fromkeys([*models, *(m for e in executors.values() for m in e.models)]))
    return {
        "job_types": sorted(executors),
        "models": all_models,
        "gpu_memory_gb": gpu_memory_gb,
        "region": region,
        "min_price": str(min_price),
    }


def result_body(
    job: Mapping[str, Any],
    execution: Execution,
    *,
    node: NodeIdentity,
    miner_id: str,
    key: SigningKey,
) -> dict[str, Any]:
    """The body of ``POST /v1/miners/jobs/{id}/result``: result, units and the miner's
    attestation over its claim (hashes of payload and result, never the data)."""
    claim = miner_claim(
        {
            "job_id": job["id"],
            "input_hash": content_hash(job["payload"]),
            "output_hash": content_hash(execution.result),
            "units": execution.units,
            "price": job["price"],
            "chain_id": node.chain_id,
            "coordinator_id": node.coordinator_id,
            "miner_id": miner_id,
        }
    )
    signature = attest(key, claim)
    return {
        "result": execution.result,
        "units": execution.units,
        "attestation": {k: signature[k] for k in ("alg", "key_id", "sig")},
    }


def check_receipt(receipt: Mapping[str, Any], node: NodeIdentity, key: SigningKey) -> None:
    """Verify a receipt the node issued for our result: signed by a published node key,
    for this chain, and naming our key. Raises ReceiptVerificationError."""
    verify_receipt(receipt, node.signing_keys, chain_id=node.chain_id)
    if receipt.get("miner_key") != key.verify_key.b64:
        raise ReceiptVerificationError("receipt names another miner key")
