"""Job creation, escrow, idempotency, listing, cancel and ttl expiry."""

from __future__ import annotations

import asyncio

from .conftest import Cast

JOB = {"job_type": "echo", "payload": {"n": 1}, "price": "100"}


async def balance(actor: object) -> tuple[int, int]:
    body = await actor.ok("GET", "/v1/wallet/balance")  # type: ignore[attr-defined]
    return int(body["balance"]), int(body["escrowed"])


async def test_create_escrows_and_cancel_refunds(cast: Cast) -> None:
    job = await cast.client.ok("POST", "/v1/jobs", 201, json=JOB)
    assert job["state"] == "QUEUED" and job["price"] == "100" and job["attempts"] == 0
    assert await balance(cast.client) == (9900, 100)
    canceled = await cast.client.ok("POST", f"/v1/jobs/{job['id']}/cancel")
    assert canceled["state"] == "CANCELED"
    assert await balance(cast.client) == (10_000, 0)
    await cast.client.err("POST", f"/v1/jobs/{job['id']}/cancel", 409, "job_not_cancelable")
    await cast.client.err("GET", f"/v1/jobs/{job['id']}/result", 409, "invalid_state")
    kinds = [t["kind"] for t in (await cast.client.ok("GET", "/v1/wallet/history"))["items"]]
    assert kinds == ["refund", "escrow", "mint"]


async def test_insufficient_funds_is_402_and_writes_nothing(cast: Cast) -> None:
    await cast.other.err("POST", "/v1/jobs", 402, "insufficient_funds", json=JOB)
    assert (await cast.other.ok("GET", "/v1/jobs"))["items"] == []
    assert await balance(cast.other) == (0, 0)


async def test_idempotency_key_charges_once_and_rejects_other_body(cast: Cast) -> None:
    headers = {"Idempotency-Key": "k-1"}
    first = await cast.client.http.post("/v1/jobs", json=JOB, headers=headers)
    second = await cast.client.http.post("/v1/jobs", json=JOB, headers=headers)
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.headers["idempotent-replayed"] == "true"
    assert first.json()["id"] == second.json()["id"]
    assert await balance(cast.client) == (9900, 100)
    await cast.client.err(
        "POST",
        "/v1/jobs",
        409,
        "idempotency_key_reused",
        json={**JOB, "price": "101"},
        headers=headers,
    )
    # The same key from another principal is that principal's own key.
    await cast.node.faucet(cast.other.id, 500)
    other = await cast.other.ok("POST", "/v1/jobs", 201, json=JOB, headers=headers)
    assert other["id"] != first.json()["id"]


async def test_concurrent_idempotent_creates_make_one_job(cast: Cast) -> None:
    headers = {"Idempotency-Key": "race"}
    answers = await asyncio.gather(
        *[cast.client.http.post("/v1/jobs", json=JOB, headers=headers) for _ in range(6)]
    )
    assert sorted(a.status_code for a in answers) == [200] * 5 + [201]
    assert len({a.json()["id"] for a in answers}) == 1
    assert await balance(cast.client) == (9900, 100)


async def test_list_paginates_newest_first_and_filters_state(cast: Cast) -> None:
    ids = [(await cast.client.ok("POST", "/v1/jobs", 201, json=JOB))["id"] for _ in range(5)]
    await cast.client.ok("POST", f"/v1/jobs/{ids[0]}/cancel")
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = await cast.client.ok("GET", "/v1/jobs", params=params)
        seen += [j["id"] for j in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids[::-1]
    queued = await cast.client.ok("GET", "/v1/jobs", params={"state": "QUEUED"})
    assert {j["id"] for j in queued["items"]} == set(ids[1:])
    await cast.client.err("GET", "/v1/jobs", 422, "validation_error", params={"state": "NOPE"})
    await cast.client.err("GET", "/v1/jobs", 422, "validation_error", params={"cursor": "zz"})
    await cast.client.err("GET", "/v1/jobs", 422, "validation_error", params={"limit": 500})


async def test_ttl_expiry_refunds_and_blocks_claims(cast: Cast) -> None:
    job = await cast.client.ok("POST", "/v1/jobs", 201, json={**JOB, "ttl_seconds": 1})
    await asyncio.sleep(1.1)
    # The lazy check on read expires it even before the sweeper's next tick.
    expired = await cast.client.ok("GET", f"/v1/jobs/{job['id']}")
    assert expired["state"] == "EXPIRED"
    assert await balance(cast.client) == (10_000, 0)
    assert await cast.miner.poll() is None


async def test_sweeper_expires_jobs_nobody_reads(cast: Cast) -> None:
    job = await cast.client.ok("POST", "/v1/jobs", 201, json={**JOB, "ttl_seconds": 1})
    await asyncio.sleep(1.0)
    for _ in range(50):
        if (await balance(cast.client)) == (10_000, 0):
            break
        await asyncio.sleep(0.1)
    assert await balance(cast.client) == (10_000, 0)
    assert (await cast.client.ok("GET", f"/v1/jobs/{job['id']}"))["state"] == "EXPIRED"


async def test_job_events_are_in_the_log(cast: Cast) -> None:
    from aitbc.node.events import read_events

    job = await cast.client.ok("POST", "/v1/jobs", 201, json=JOB)
    await cast.client.ok("POST", f"/v1/jobs/{job['id']}/cancel")
    async with cast.node.node.sessions() as session:
        events = await read_events(session, f"job:{job['id']}")
        account = await read_events(session, f"account:{cast.client.id}")
    assert [(e.seq, e.event) for e in events] == [(1, "job.created"), (2, "job.canceled")]
    assert events[1].data["state"] == "CANCELED"
    assert [(e.seq, e.event) for e in account] == [
        (1, "ledger.credit"),
        (2, "ledger.debit"),
        (3, "ledger.credit"),
    ]
