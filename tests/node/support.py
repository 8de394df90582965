"""Test-side actors that speak the raw wire protocol over HTTP (deliberately not the SDK)."""

from __future__ import annotations

from typing import Any

import httpx

from aitbc.core.canonical import content_hash
from aitbc.core.receipts import attest, miner_claim
from aitbc.core.signing import SigningKey


class Actor:
    """An httpx client bound to one API key."""

    def __init__(self, url: str, key: str, principal_id: str = "") -> None:
        self.id = principal_id
        self.http = httpx.AsyncClient(base_url=url, headers={"X-API-Key": key}, timeout=30)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def ok(self, method: str, path: str, status: int = 200, **kw: Any) -> Any:
        """Send and assert the status; return the JSON body (None for 204)."""
        response = await self.http.request(method, path, **kw)
        assert response.status_code == status, response.text
        return None if status == 204 else response.json()

    async def err(self, method: str, path: str, status: int, code: str, **kw: Any) -> Any:
        """Send and assert an error envelope with ``status`` and ``code``."""
        response = await self.http.request(method, path, **kw)
        assert response.status_code == status, response.text
        error = response.json()["error"]
        assert error["code"] == code, error
        assert error["request_id"] == response.headers["x-request-id"]
        return error


class TestMiner(Actor):
    """A miner with a real Ed25519 key that attests results like the reference miner."""

    __test__ = False

    def __init__(self, url: str, key: str, principal_id: str) -> None:
        super().__init__(url, key, principal_id)
        self.signing_key = SigningKey.generate()

    async def register(self, **capabilities: Any) -> Any:
        caps = {"job_types": ["echo"], **capabilities}
        body = {"public_key": self.signing_key.verify_key.b64, "capabilities": caps}
        return await self.ok("POST", "/v1/miners/register", json=body)

    async def poll(self, wait: float = 0) -> Any:
        response = await self.http.post("/v1/miners/poll", json={"wait_seconds": wait})
        assert response.status_code in (200, 204), response.text
        return None if response.status_code == 204 else response.json()["job"]

    def result_body(
        self, job: dict[str, Any], result: Any, info: dict[str, Any], units: int = 1
    ) -> dict[str, Any]:
        claim = miner_claim(
            {
                "job_id": job["id"],
                "input_hash": content_hash(job["payload"]),
                "output_hash": content_hash(result),
                "units": units,
                "price": job["price"],
                "chain_id": info["chain_id"],
                "coordinator_id": info["coordinator_id"],
                "miner_id": self.id,
            }
        )
        att = attest(self.signing_key, claim)
        att.pop("role")
        return {"result": result, "units": units, "attestation": att}


async def make_actor(node: Any, role: str, name: str) -> Actor:
    principal_id, key = await node.create_principal(role, name)
    if role == "miner":
        return TestMiner(node.url, key, principal_id)
    return Actor(node.url, key, principal_id)


async def info(node: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=node.url) as http:
        body: dict[str, Any] = (await http.get("/v1/info")).json()
        return body
