"""Wire shapes the miner builds: capabilities, the attested result body, node identity."""

from __future__ import annotations

from typing import Any

import pytest

from aitbc.core.canonical import canonical_json, content_hash
from aitbc.core.receipts import miner_claim
from aitbc.core.signing import SigningKey
from aitbc.errors import ProtocolError
from aitbc.miner.backoff import Backoff
from aitbc.miner.claims import NodeIdentity, capabilities, result_body
from aitbc.miner.executors import EchoExecutor, Execution, HashChainExecutor


def _info(key: SigningKey) -> dict[str, Any]:
    return {
        "chain_id": 7,
        "version": "0.1.0",
        "coordinator_id": "coord_x",
        "signing_keys": [
            {"key_id": key.key_id, "alg": "ed25519", "public_key": key.verify_key.b64}
        ],
    }


def test_node_identity_from_info() -> None:
    coordinator = SigningKey.generate()
    node = NodeIdentity.from_info(_info(coordinator))
    assert node.chain_id == 7 and node.coordinator_id == "coord_x"
    assert node.signing_keys[coordinator.key_id] == coordinator.verify_key


@pytest.mark.parametrize(
    "broken",
    [{}, {"signing_keys": [{"public_key": "!!"}]}, {"chain_id": "7"}, {"coordinator_id": 3}],
)
def test_node_identity_rejects_malformed_info(broken: dict[str, Any]) -> None:
    info = {**_info(SigningKey.generate()), **broken} if broken else {}
    with pytest.raises(ProtocolError):
        NodeIdentity.from_info(info)


def test_capabilities_list_executors_as_job_types() -> None:
    class Llm(EchoExecutor):
        models = ("llama", "tiny")

    caps = capabilities(
        {"sha256": HashChainExecutor(), "echo": Llm()},
        models=["tiny", "big"],
        gpu_memory_gb=8,
        region="eu",
        min_price=5,
    )
    assert caps == {
        "job_types": ["echo", "sha256"],
        "models": ["tiny", "big", "llama"],
        "gpu_memory_gb": 8,
        "region": "eu",
        "min_price": "5",
    }


def test_result_body_attests_the_claim() -> None:
    miner, coordinator = SigningKey.generate(), SigningKey.generate()
    node = NodeIdentity.from_info(_info(coordinator))
    job = {"id": "job_1", "payload": {"msg": "hi"}, "price": "100"}
    execution = Execution(result={"echo": {"msg": "hi"}}, units=1)
    body = result_body(job, execution, node=node, miner_id="prn_m", key=miner)
    assert body["result"] == execution.result and body["units"] == 1
    claim = miner_claim(
        {
            "job_id": "job_1",
            "input_hash": content_hash({"msg": "hi"}),
            "output_hash": content_hash(execution.result),
            "units": 1,
            "price": "100",
            "chain_id": 7,
            "coordinator_id": "coord_x",
            "miner_id": "prn_m",
        }
    )
    att = body["attestation"]
    assert set(att) == {"alg", "key_id", "sig"} and att["key_id"] == miner.key_id
    assert miner.verify_key.verify(att["sig"], canonical_json(claim))
    assert not miner.verify_key.verify(att["sig"], canonical_json({**claim, "units": 2}))


def test_backoff_grows_with_full_jitter_and_resets() -> None:
    backoff = Backoff(base=1.0, cap=4.0)
    delays = [backoff.next_delay() for _ in range(6)]
    for n, delay in enumerate(delays, start=1):
        assert 0.0 <= delay <= min(4.0, 2 ** (n - 1))
    assert backoff.failures == 6
    backoff.reset()
    assert backoff.failures == 0 and backoff.next_delay() <= 1.0


def test_backoff_honours_retry_after_up_to_the_cap() -> None:
    from aitbc.errors import RateLimitedError

    backoff = Backoff(base=0.1, cap=3.0)
    assert backoff.next_delay(RateLimitedError("slow", status=429, retry_after=2.0)) == 2.0
    assert backoff.next_delay(RateLimitedError("slow", status=429, retry_after=60.0)) == 3.0
