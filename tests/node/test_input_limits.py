"""Client-triggerable 500s found by fuzzing, each pinned as a 4xx on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import pytest

from aitbc.node.schemas import MAX_JSON_DEPTH

from .conftest import Cast

NUL = "\u0000"


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return value


def job(**changes: Any) -> dict[str, Any]:
    return {"job_type": "echo", "payload": {"x": 1}, "price": "10", **changes}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/jobs", job(job_type="ec" + NUL + "ho")),
        ("POST", "/v1/jobs", job(payload={"text": "a" + NUL + "b"})),
        ("POST", "/v1/jobs", job(payload={"a" + NUL: 1})),
        ("POST", "/v1/jobs", job(constraints={"models": ["m" + NUL]})),
        ("POST", "/v1/wallet/transfer", {"to": "prn_x", "amount": "1", "memo": NUL}),
        ("POST", "/v1/marketplace/offers", None),
    ],
)
async def test_nul_in_a_stored_string_is_422(
    any_cast: Cast, method: str, path: str, body: dict[str, Any] | None
) -> None:
    actor = any_cast.client
    if body is None:  # an offer is the miner's
        actor = any_cast.miner
        body = {"capacity": 1, "price_per_unit": "1", "models": ["gpt" + NUL]}
    error = await actor.err(method, path, 422, "validation_error", json=body)
    assert "NUL" in error["message"] or "pattern" in error["message"], error


async def test_nul_in_query_and_path_is_422(any_cast: Cast) -> None:
    client = any_cast.client
    await client.err("GET", "/v1/marketplace/offers?model=a%00b", 422, "validation_error")
    await client.err("GET", "/v1/marketplace/offers?region=a%00b", 422, "validation_error")
    await client.err("GET", "/v1/jobs/job_a%00b", 422, "validation_error")
    await client.err("GET", "/v1/wallet/history?cursor=a%00b", 422, "validation_error")
    admin = any_cast.admin
    name = {"role": "client", "name": "eve" + NUL}
    await admin.err("POST", "/v1/admin/principals", 422, "validation_error", json=name)


async def test_nul_in_a_miner_failure_text_is_422(any_cast: Cast) -> None:
    await any_cast.client.ok("POST", "/v1/jobs", 201, json=job())
    claimed = await any_cast.miner.poll()
    path = f"/v1/miners/jobs/{claimed['id']}/fail"
    await any_cast.miner.err("POST", path, 422, "validation_error", json={"error": "x" + NUL})
    failed = await any_cast.miner.ok("POST", path, json={"error": "gave up"})
    assert failed["state"] == "FAILED"


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 300, 999, 5000])
async def test_nesting_beyond_the_limit_has_one_answer(any_cast: Cast, depth: int) -> None:
    # built as text: deeper than json.dumps itself can recurse
    payload = "[" * depth + '"leaf"' + "]" * depth
    body = json.dumps(job(payload=None)).replace("null", payload)
    error = await any_cast.client.err(
        "POST",
        "/v1/jobs",
        400,
        "bad_request",
        content=body,
        headers={"content-type": "application/json"},
    )
    assert error["message"] == f"JSON nested deeper than {MAX_JSON_DEPTH} levels"
    balance = await any_cast.client.ok("GET", "/v1/wallet/balance")
    assert balance["balance"] == "10000"  # nothing escrowed


async def test_nesting_at_the_limit_is_accepted(any_cast: Cast) -> None:
    # the payload object is level 1, so MAX_JSON_DEPTH - 1 lists fit inside it
    created = await any_cast.client.ok(
        "POST", "/v1/jobs", 201, json=job(payload={"n": nested(MAX_JSON_DEPTH - 1)})
    )
    assert created["state"] == "QUEUED"


@pytest.mark.parametrize("value", ["9223372036854775808", "1000001", "-1", "1e3"])
async def test_integer_query_parameters_are_bounded(any_cast: Cast, value: str) -> None:
    path = f"/v1/marketplace/offers?min_capacity={value}"
    await any_cast.client.err("GET", path, 422, "validation_error")


async def test_limit_and_money_query_parameters_are_bounded(any_cast: Cast) -> None:
    client = any_cast.client
    await client.err("GET", "/v1/jobs?limit=9223372036854775808", 422, "validation_error")
    await client.err(
        "GET", "/v1/marketplace/offers?max_price=99999999999999999999", 422, "validation_error"
    )


@pytest.mark.parametrize("amount", [str(2**63 - 1), str(2**63), "1" + "0" * 18])
async def test_faucet_beyond_what_money_can_hold_is_422(any_cast: Cast, amount: str) -> None:
    body = {"account_id": any_cast.client.id, "amount": amount}
    await any_cast.admin.err("POST", "/v1/admin/faucet", 422, "validation_error", json=body)


async def test_faucet_until_the_supply_is_exhausted_answers_409(any_cast: Cast) -> None:
    biggest = "9" * 18
    body = {"account_id": any_cast.other.id, "amount": biggest}
    minted = 0
    while True:
        response = await any_cast.admin.http.post("/v1/admin/faucet", json=body)
        if response.status_code != 201:
            break
        minted += int(biggest)
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "supply_exhausted"
    balance = await any_cast.other.ok("GET", "/v1/wallet/balance")
    assert int(balance["balance"]) == minted > 0
    # The richest account can still move all of it to a poorer one without overflow.
    moved = {"to": any_cast.client.id, "amount": biggest}
    await any_cast.other.ok("POST", "/v1/wallet/transfer", 201, json=moved)


async def test_money_is_canonical_on_input(any_cast: Cast) -> None:
    for price in ("010", "+1", "1.0", " 1", ""):
        await any_cast.client.err(
            "POST", "/v1/jobs", 422, "validation_error", json=job(price=price)
        )


async def test_method_not_allowed_lists_every_method_of_the_path(node: Any) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=node.url) as http:
        response = await http.put("/v1/marketplace/offers")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert response.json()["error"]["code"] == "method_not_allowed"


async def test_idempotent_money_beyond_two_to_the_53_is_hashable(any_cast: Cast) -> None:
    amount = str(2**59)  # 18 digits, far beyond 2**53
    await any_cast.admin.ok(
        "POST", "/v1/admin/faucet", 201, json={"account_id": any_cast.client.id, "amount": amount}
    )
    body = {"to": any_cast.other.id, "amount": amount}
    headers = {"Idempotency-Key": "big-1"}
    first = await any_cast.client.ok("POST", "/v1/wallet/transfer", 201, json=body, headers=headers)
    again = await any_cast.client.ok("POST", "/v1/wallet/transfer", 200, json=body, headers=headers)
    assert first == again and first["amount"] == amount


@pytest.mark.parametrize("number", [str(2**53), "-9007199254740992", "NaN", "Infinity"])
async def test_payload_numbers_must_be_canonical(any_cast: Cast, number: str) -> None:
    body = json.dumps(job(payload=None)).replace("null", "[" + number + "]")
    await any_cast.client.err(
        "POST",
        "/v1/jobs",
        422,
        "validation_error",
        content=body,
        headers={"content-type": "application/json", "Idempotency-Key": "k"},
    )
