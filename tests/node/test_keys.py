"""API key lifecycle against a real node: list, create, revoke, rotate with a grace
period, expiry, the audit log, and revocation reaching another worker through Redis.

Time moves by replacing the node's clock (``Node.clock``); nothing sleeps to test time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aitbc.node.embedded import run_node
from aitbc.node.services.principals import hash_key

from .support import Actor


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
async def clocked(any_node: Any) -> AsyncIterator[tuple[Any, Clock]]:
    clock = Clock()
    any_node.node.clock = clock
    yield any_node, clock


async def test_create_list_revoke_own_keys(clocked: tuple[Any, Clock]) -> None:
    node, clock = clocked
    pid, key = await node.create_principal("client", "alice")
    alice = Actor(node.url, key, pid)
    second: Actor | None = None
    try:
        page = await alice.ok("GET", "/v1/keys")
        assert [k["state"] for k in page["items"]] == ["active"]
        first = page["items"][0]
        assert first["principal_id"] == pid and "key_hash" not in first
        clock.advance(1)
        made = await alice.ok("POST", "/v1/keys", 201, json={"name": "laptop"})
        assert made["key"]["name"] == "laptop" and made["api_key"].startswith("aitbc_")
        second = Actor(node.url, made["api_key"])
        assert (await second.ok("GET", "/v1/me"))["id"] == pid
        ids = [k["id"] for k in (await alice.ok("GET", "/v1/keys"))["items"]]
        assert ids == [made["key"]["id"], first["id"]]  # newest first
        revoked = await alice.ok("POST", f"/v1/keys/{made['key']['id']}/revoke")
        assert revoked["state"] == "revoked"
        # the worker that revoked dropped its cached entry at once
        await second.err("GET", "/v1/me", 401, "key_revoked")
        assert (await alice.ok("GET", "/v1/me"))["id"] == pid
    finally:
        await alice.aclose()
        if second is not None:
            await second.aclose()


async def test_rotation_grace_and_expiry_follow_the_clock(clocked: tuple[Any, Clock]) -> None:
    node, clock = clocked
    pid, key = await node.create_principal("client", "bob")
    old = Actor(node.url, key, pid)
    try:
        key_id = (await old.ok("GET", "/v1/keys"))["items"][0]["id"]
        body = {"grace_seconds": 60, "expires_in_seconds": 3600}
        rotated = await old.ok("POST", f"/v1/keys/{key_id}/rotate", 201, json=body)
        assert rotated["previous"]["state"] == "rotating"
        new = Actor(node.url, rotated["api_key"])
        await old.err("POST", f"/v1/keys/{key_id}/rotate", 409, "key_not_active", json={})
        clock.advance(59)
        assert (await old.ok("GET", "/v1/me"))["id"] == pid  # still in its grace period
        clock.advance(1)
        await old.err("GET", "/v1/me", 401, "key_revoked")
        assert (await new.ok("GET", "/v1/me"))["id"] == pid
        clock.advance(3600 - 60)
        await new.err("GET", "/v1/me", 401, "key_expired")
        await new.aclose()
        admin = Actor(node.url, node.admin_key)
        states = await admin.ok("GET", "/v1/keys", params={"principal_id": pid})
        assert sorted(k["state"] for k in states["items"]) == ["expired", "revoked"]
        await admin.aclose()
    finally:
        await old.aclose()


async def test_principals_touch_only_their_own_keys(any_node: Any) -> None:
    a_id, a_key = await any_node.create_principal("client", "a")
    b_id, b_key = await any_node.create_principal("miner", "b")
    a, b = Actor(any_node.url, a_key, a_id), Actor(any_node.url, b_key, b_id)
    admin = Actor(any_node.url, any_node.admin_key)
    try:
        b_key_id = (await b.ok("GET", "/v1/keys"))["items"][0]["id"]
        await a.err("POST", f"/v1/keys/{b_key_id}/revoke", 404, "key_not_found")
        await a.err("POST", f"/v1/keys/{b_key_id}/rotate", 404, "key_not_found", json={})
        await a.err("GET", "/v1/keys", 403, "forbidden", params={"principal_id": b_id})
        await a.err("POST", "/v1/keys", 403, "forbidden", json={"principal_id": b_id})
        await a.err("POST", "/v1/keys", 422, "validation_error", json={"grace": 1})
        await admin.err(
            "POST", "/v1/keys", 404, "principal_not_found", json={"principal_id": "prn_x"}
        )
        # the admin manages anyone's keys
        made = await admin.ok("POST", "/v1/keys", 201, json={"principal_id": b_id})
        assert made["key"]["principal_id"] == b_id
        await admin.ok("POST", f"/v1/keys/{b_key_id}/revoke")
        await b.err("GET", "/v1/me", 401, "key_revoked")
        again = await admin.ok("POST", f"/v1/keys/{b_key_id}/revoke")  # a no-op
        assert again["state"] == "revoked"
    finally:
        for actor in (a, b, admin):
            await actor.aclose()


async def test_admin_actions_are_audited_and_paged(any_node: Any) -> None:
    admin = Actor(any_node.url, any_node.admin_key)
    try:
        made = await admin.ok(
            "POST", "/v1/admin/principals", 201, json={"role": "client", "name": "c"}
        )
        pid = made["principal"]["id"]
        await admin.ok("POST", "/v1/admin/faucet", 201, json={"account_id": pid, "amount": "5"})
        key = await admin.ok("POST", "/v1/keys", 201, json={"principal_id": pid})
        await admin.ok(
            "POST", f"/v1/keys/{key['key']['id']}/rotate", 201, json={"grace_seconds": 5}
        )
        await admin.ok("POST", f"/v1/keys/{key['key']['id']}/revoke")
        await admin.ok("POST", "/v1/admin/realtime/kick")
        seen: list[dict[str, Any]] = []
        cursor = None
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = await admin.ok("GET", "/v1/admin/audit", params=params)
            seen.extend(page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        actions = [entry["action"] for entry in reversed(seen)]
        assert actions == [
            "principal.create",
            "faucet",
            "key.create",
            "key.rotate",
            "key.revoke",
            "realtime.kick",
        ]
        assert len({entry["id"] for entry in seen}) == len(seen)
        # no raw key (nor its hash) is ever written to the log
        text = repr(seen)
        assert made["api_key"] not in text and key["api_key"] not in text
        assert hash_key(key["api_key"]) not in text
        user = Actor(any_node.url, made["api_key"])
        await user.err("GET", "/v1/admin/audit", 403, "forbidden")
        await user.aclose()
    finally:
        await admin.aclose()


async def _until_forgotten(node: Any, key: str) -> None:
    """Return once ``node``'s key cache no longer holds ``key`` (bounded, not timed)."""
    async with asyncio.timeout(10):
        while node.node.key_cache.get(hash_key(key)) is not None:  # noqa: ASYNC110 - the
            await asyncio.sleep(0.01)  # listener task changes the cache; nothing to await


@pytest.mark.postgres
@pytest.mark.redis
async def test_revocation_reaches_another_worker_through_redis(
    postgres_url: str, redis_url: str
) -> None:
    settings = {"redis_url": redis_url, "sweep_interval": 0.2}
    async with (
        run_node(postgres_url, **settings) as first,
        run_node(postgres_url, admin_key=first.admin_key, **settings) as second,
    ):
        await second.node.revocations.listening.wait()
        pid, key = await first.create_principal("client", "dave")
        on_first, on_second = Actor(first.url, key, pid), Actor(second.url, key, pid)
        admin = Actor(first.url, first.admin_key)
        try:
            await on_second.ok("GET", "/v1/me")  # the second worker caches the key
            assert second.node.key_cache.get(hash_key(key)) is not None
            key_id = (await on_first.ok("GET", "/v1/keys"))["items"][0]["id"]
            await admin.ok("POST", f"/v1/keys/{key_id}/revoke")
            await _until_forgotten(second, key)
            await on_second.err("GET", "/v1/me", 401, "key_revoked")
        finally:
            for actor in (on_first, on_second, admin):
                await actor.aclose()


async def test_without_redis_the_cache_entry_outlives_a_foreign_revocation(
    tmp_path: Any,
) -> None:
    """What the Redis notice is for: a second worker without it keeps its cached entry
    (until the entry's time-to-live) while the revoking worker refuses at once."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.sqlite3'}"
    async with run_node(url) as first, run_node(url, admin_key=first.admin_key) as second:
        pid, key = await first.create_principal("client", "erin")
        on_first, on_second = Actor(first.url, key, pid), Actor(second.url, key, pid)
        try:
            await on_second.ok("GET", "/v1/me")
            key_id = (await on_first.ok("GET", "/v1/keys"))["items"][0]["id"]
            await on_first.ok("POST", f"/v1/keys/{key_id}/revoke")
            await on_first.err("GET", "/v1/me", 401, "key_revoked")
            assert second.node.key_cache.get(hash_key(key)) is not None
            second.node.key_cache.forget(hash_key(key))  # as its TTL would
            await on_second.err("GET", "/v1/me", 401, "key_revoked")
        finally:
            await on_first.aclose()
            await on_second.aclose()


async def test_bad_key_requests_are_refused_with_422(any_node: Any) -> None:
    admin = Actor(any_node.url, any_node.admin_key)
    try:
        for body in ({"expires_in_seconds": 0}, {"expires_in_seconds": "5"}, {"name": "a\x00b"}):
            await admin.err("POST", "/v1/keys", 422, "validation_error", json=body)
        key_id = (await admin.ok("GET", "/v1/keys"))["items"][0]["id"]
        for body in ({"grace_seconds": -1}, {"grace_seconds": 31 * 86_400}):
            await admin.err("POST", f"/v1/keys/{key_id}/rotate", 422, "validation_error", json=body)
        assert (await admin.ok("GET", "/v1/keys"))["items"][0]["state"] == "active"
    finally:
        await admin.aclose()


@pytest.mark.parametrize("door", ["websocket", "sse"])
async def test_revoking_a_key_ends_the_streams_opened_with_it(any_node: Any, door: str) -> None:
    from aitbc.errors import AuthenticationError
    from aitbc.transports import HTTPTransport
    from aitbc.transports.websocket import WebSocketTransport

    pid, key = await any_node.create_principal("client", "carol")
    await any_node.faucet(pid, 10)
    carol = Actor(any_node.url, key, pid)
    admin = Actor(any_node.url, any_node.admin_key)
    transport: Any = (
        WebSocketTransport({"ws_url": any_node.ws_url, "api_key": key})
        if door == "websocket"
        else HTTPTransport({"base_url": any_node.url, "default_headers": {"X-API-Key": key}})
    )
    try:
        key_id = (await carol.ok("GET", "/v1/keys"))["items"][0]["id"]
        async with transport.stream("subscribe", f"account:{pid}", {"resume_from": 0}) as events:
            first = await asyncio.wait_for(anext(aiter(events)), 20)
            assert first["seq"] == 1  # the faucet's credit: the stream is live
            await admin.ok("POST", f"/v1/keys/{key_id}/revoke", json={})
            with pytest.raises(AuthenticationError):
                await asyncio.wait_for(anext(aiter(events)), 20)
    finally:
        await transport.disconnect()
        await carol.aclose()
        await admin.aclose()
