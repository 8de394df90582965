from __future__ import annotations

from typing import Any

import httpx


async def test_health_and_info(node: Any) -> None:
    async with httpx.AsyncClient(base_url=node.url) as http:
        health = await http.get("/health")
        info = (await http.get("/v1/info")).json()
    assert health.json() == {"status": "ok"}
    assert health.headers["x-request-id"]
    assert info["chain_id"] == 1
    assert info["signing_keys"][0]["alg"] == "ed25519"


async def test_pg_node_serves(pg_node: Any) -> None:
    client_id, key = await pg_node.create_principal("client", "alice")
    await pg_node.faucet(client_id, 500)
    async with httpx.AsyncClient(base_url=pg_node.url, headers={"X-API-Key": key}) as http:
        balance = (await http.get("/v1/wallet/balance")).json()
    assert balance == {"account_id": client_id, "balance": "500", "escrowed": "0"}
