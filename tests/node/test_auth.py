"""Identity from the key alone; each role sees and acts on only what it may."""

from __future__ import annotations

import httpx
import pytest

from .conftest import Cast
from .support import Actor

JOB = {"job_type": "echo", "payload": {"n": 1}, "price": "10"}


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "aitbc_not-a-key"}])
async def test_missing_or_unknown_key_is_401(cast: Cast, headers: dict[str, str]) -> None:
    async with httpx.AsyncClient(base_url=cast.node.url, headers=headers) as http:
        anon = Actor.__new__(Actor)
        anon.http = http
        for method, path in [
            ("GET", "/v1/me"),
            ("POST", "/v1/jobs"),
            ("GET", "/v1/wallet/balance"),
            ("POST", "/v1/miners/poll"),
        ]:
            await anon.err(method, path, 401, "unauthenticated")


async def test_me_reports_the_key_owner(cast: Cast) -> None:
    me = await cast.client.ok("GET", "/v1/me")
    assert me["id"] == cast.client.id and me["role"] == "client" and me["name"] == "alice"
    assert (await cast.admin.ok("GET", "/v1/me"))["role"] == "admin"


async def test_admin_routes_refuse_others(cast: Cast) -> None:
    for actor in (cast.client, cast.miner):
        await actor.err(
            "POST", "/v1/admin/principals", 403, "forbidden", json={"role": "client", "name": "x"}
        )
        await actor.err(
            "POST",
            "/v1/admin/faucet",
            403,
            "forbidden",
            json={"account_id": actor.id, "amount": "5"},
        )
    made = await cast.admin.ok(
        "POST", "/v1/admin/principals", 201, json={"role": "client", "name": "dave"}
    )
    dave = Actor(cast.node.url, made["api_key"], made["principal"]["id"])
    try:
        assert (await dave.ok("GET", "/v1/me"))["name"] == "dave"
        await cast.admin.ok(
            "POST", "/v1/admin/faucet", 201, json={"account_id": dave.id, "amount": "5"}
        )
        assert (await dave.ok("GET", "/v1/wallet/balance"))["balance"] == "5"
    finally:
        await dave.aclose()


async def test_clients_see_only_their_own_jobs(cast: Cast) -> None:
    job = await cast.client.ok("POST", "/v1/jobs", 201, json=JOB)
    await cast.other.err("GET", f"/v1/jobs/{job['id']}", 404, "job_not_found")
    await cast.other.err("POST", f"/v1/jobs/{job['id']}/cancel", 404, "job_not_found")
    await cast.other.err("GET", f"/v1/jobs/{job['id']}/result", 404, "job_not_found")
    assert (await cast.other.ok("GET", "/v1/jobs"))["items"] == []
    assert len((await cast.admin.ok("GET", "/v1/jobs"))["items"]) == 1


async def test_miners_see_only_jobs_they_hold(cast: Cast) -> None:
    job = await cast.client.ok("POST", "/v1/jobs", 201, json=JOB)
    await cast.miner.err("GET", f"/v1/jobs/{job['id']}", 404, "job_not_found")
    assert (await cast.miner.ok("GET", "/v1/jobs"))["items"] == []
    await cast.miner.poll()
    assert (await cast.miner.ok("GET", f"/v1/jobs/{job['id']}"))["state"] == "RUNNING"
    await cast.miner.err("POST", f"/v1/jobs/{job['id']}/cancel", 403, "forbidden")


async def test_roles_are_enforced_on_actions(cast: Cast) -> None:
    await cast.miner.err("POST", "/v1/jobs", 403, "forbidden", json=JOB)
    await cast.client.err("POST", "/v1/miners/poll", 403, "forbidden", json={})
    await cast.client.err(
        "POST",
        "/v1/marketplace/offers",
        403,
        "forbidden",
        json={"capacity": 1, "price_per_unit": "1"},
    )
    job = await cast.client.ok("POST", "/v1/jobs", 201, json=JOB)
    await cast.client.err(
        "POST", f"/v1/miners/jobs/{job['id']}/fail", 403, "forbidden", json={"error": "x"}
    )


async def test_receipts_are_visible_to_client_miner_and_admin_only(cast: Cast) -> None:
    from .support import info

    job = await cast.client.ok("POST", "/v1/jobs", 201, json=JOB)
    claimed = await cast.miner.poll()
    body = cast.miner.result_body(claimed, {"n": 1}, await info(cast.node))
    done = await cast.miner.ok("POST", f"/v1/miners/jobs/{job['id']}/result", json=body)
    rid = done["receipt"]["receipt_id"]
    for actor in (cast.client, cast.miner, cast.admin):
        assert (await actor.ok("GET", f"/v1/receipts/{rid}"))["receipt_id"] == rid
    await cast.other.err("GET", f"/v1/receipts/{rid}", 404, "receipt_not_found")
