"""Transfers (idempotent), history pagination and the faucet over HTTP."""

from __future__ import annotations

from .conftest import Cast


async def test_transfer_idempotency_and_history(cast: Cast) -> None:
    body = {"to": cast.other.id, "amount": "300", "memo": "rent"}
    headers = {"Idempotency-Key": "t-1"}
    first = await cast.client.http.post("/v1/wallet/transfer", json=body, headers=headers)
    again = await cast.client.http.post("/v1/wallet/transfer", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json() and first.json()["kind"] == "transfer"
    assert again.headers["idempotent-replayed"] == "true"
    await cast.client.err(
        "POST",
        "/v1/wallet/transfer",
        409,
        "idempotency_key_reused",
        json={**body, "amount": "301"},
        headers=headers,
    )
    assert (await cast.other.ok("GET", "/v1/wallet/balance"))["balance"] == "300"
    await cast.other.err(
        "POST",
        "/v1/wallet/transfer",
        402,
        "insufficient_funds",
        json={"to": cast.client.id, "amount": "301"},
    )
    for n in range(3):
        await cast.other.ok(
            "POST", "/v1/wallet/transfer", 201, json={"to": cast.client.id, "amount": str(n + 1)}
        )
    page = await cast.other.ok("GET", "/v1/wallet/history", params={"limit": 2})
    rest = await cast.other.ok(
        "GET", "/v1/wallet/history", params={"limit": 2, "cursor": page["next_cursor"]}
    )
    amounts = [t["amount"] for t in page["items"] + rest["items"]]
    assert amounts == ["3", "2", "1", "300"] and rest["next_cursor"] is None


async def test_faucet_refusals(cast: Cast) -> None:
    await cast.admin.err(
        "POST",
        "/v1/admin/faucet",
        404,
        "principal_not_found",
        json={"account_id": "prn_nobody", "amount": "5"},
    )
    await cast.admin.err(
        "POST",
        "/v1/admin/faucet",
        404,
        "principal_not_found",
        json={"account_id": "sys:escrow", "amount": "5"},
    )
    await cast.admin.err(
        "POST",
        "/v1/admin/faucet",
        422,
        "validation_error",
        json={"account_id": cast.client.id, "amount": "0"},
    )
    await cast.admin.err(
        "POST",
        "/v1/admin/faucet",
        422,
        "validation_error",
        json={"account_id": cast.client.id, "amount": str(2**63)},
    )
    minted = await cast.admin.ok(
        "POST", "/v1/admin/faucet", 201, json={"account_id": cast.client.id, "amount": "5"}
    )
    assert minted["kind"] == "mint" and minted["from_account"] == "sys:mint"
