"""Helpers for tests against a real node: principals with keys, and a tiny miner that
speaks the miner protocol over HTTPTransport (register, poll, attest, submit)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aitbc import AITBCClient, HTTPTransport
from aitbc.core.canonical import content_hash
from aitbc.core.receipts import attest, miner_claim
from aitbc.core.signing import SigningKey

ECHO_JOB: dict[str, Any] = {"job_type": "echo", "payload": {"text": "hello"}, "price": 100}


@dataclass
class Parties:
    url: str
    client_id: str
    client_key: str
    miner_id: str
    miner_key: str

    def client(self, **config: Any) -> AITBCClient:
        return AITBCClient(self.transport(self.client_key, **config))

    def miner_client(self) -> AITBCClient:
        return AITBCClient(self.transport(self.miner_key))

    def transport(self, key: str, **config: Any) -> HTTPTransport:
        base = {"base_url": self.url, "default_headers": {"X-API-Key": key}}
        return HTTPTransport({**base, **config})


async def parties(node: Any, funds: int = 10_000) -> Parties:
    client_id, client_key = await node.create_principal("client", "alice")
    miner_id, miner_key = await node.create_principal("miner", "bob")
    await node.faucet(client_id, funds)
    return Parties(node.url, client_id, client_key, miner_id, miner_key)


class EchoMiner:
    """Takes one job at a time and completes it with ``{"echo": payload}``."""

    def __init__(self, parties: Parties) -> None:
        self.key = SigningKey.generate()
        self.parties = parties
        self.transport = parties.transport(parties.miner_key)

    async def __aenter__(self) -> EchoMiner:
        await self.transport.request(
            "POST",
            "/v1/miners/register",
            {"public_key": self.key.verify_key.b64, "capabilities": {"job_types": ["echo"]}},
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.transport.disconnect()

    async def complete_one(self) -> dict[str, Any]:
        """Claim the oldest matching job and submit its result; returns the receipt."""
        claimed = await self.transport.request("POST", "/v1/miners/poll", {"wait_seconds": 5})
        job = claimed["job"]
        info = await self.transport.request("GET", "/v1/info")
        result = {"echo": job["payload"]}
        claim = miner_claim(
            {
                "job_id": job["id"],
                "input_hash": content_hash(job["payload"]),
                "output_hash": content_hash(result),
                "units": 1,
                "price": job["price"],
                "chain_id": info["chain_id"],
                "coordinator_id": info["coordinator_id"],
                "miner_id": self.parties.miner_id,
            }
        )
        signature = attest(self.key, claim)
        body = {
            "result": result,
            "units": 1,
            "attestation": {k: signature[k] for k in ("alg", "key_id", "sig")},
        }
        done = await self.transport.request("POST", f"/v1/miners/jobs/{job['id']}/result", body)
        receipt: dict[str, Any] = done["receipt"]
        return receipt
