"""WebSocketTransport requests against a real node: one socket, many callers."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
import websockets

from aitbc.core.signing import SigningKey
from aitbc.errors import (
    AuthenticationError,
    ConfigurationError,
    NetworkMismatchError,
    NotFoundError,
    PermissionDeniedError,
    TransportClosedError,
    ValidationError,
)
from aitbc.transports import conformance
from aitbc.transports.websocket import WebSocketTransport

from .conftest import Principal, realtime_of, tune


async def test_200_concurrent_requests_over_one_socket(
    node: Any, alice: Principal, ws_factory: Any
) -> None:
    transport = ws_factory(alice.key)
    await transport.connect()

    async def call(i: int) -> tuple[int, Any]:
        if i % 2:
            job = {"job_type": "echo", "payload": {"i": i}, "price": "1"}
            return i, await transport.request("POST", "/v1/jobs", job)
        try:
            await transport.request("GET", f"/v1/jobs/job_missing_{i}")
        except NotFoundError as exc:
            return i, exc
        raise AssertionError("a missing job must raise NotFoundError")

    results = await asyncio.gather(*(call(i) for i in range(200)))
    for i, answer in results:
        if i % 2:
            assert answer["payload"] == {"i": i} and answer["client_id"] == alice.id
        else:
            assert answer.code == "job_not_found" and f"job_missing_{i}" in answer.message
    assert len(realtime_of(node).connections) == 1  # all of it over one WebSocket
    listing = await transport.request("GET", "/v1/jobs", params={"limit": 200})
    assert len(listing["items"]) == 100


async def test_seed_usage(node: Any, alice: Principal) -> None:
    """The seed's WebSocketTransport example, verbatim in spirit."""
    transport = WebSocketTransport({"ws_url": node.ws_url, "headers": {"X-API-Key": alice.key}})
    await transport.connect()
    try:
        assert transport.is_connected and transport.chain_id is None
        me = await transport.request("GET", "/v1/me")
        assert me["id"] == alice.id
        job = await transport.request(
            "POST", "/v1/jobs", data={"job_type": "echo", "payload": {"x": 1}, "price": "5"}
        )
        async for message in transport.stream("subscribe", f"job:{job['id']}", {"resume_from": 0}):
            assert message["event"] == "job.created" and message["seq"] == 1
            assert message["data"]["id"] == job["id"]
            break
    finally:
        await transport.disconnect()
    assert not transport.is_connected


@pytest.mark.parametrize("check", conformance.CHECKS, ids=lambda c: c.__name__)
async def test_conformance(node: Any, alice: Principal, check: conformance.Check) -> None:
    await conformance.run_check(
        check,
        lambda: WebSocketTransport({"ws_url": node.ws_url, "api_key": alice.key, "chain_id": 1}),
    )


async def test_validation_and_headers_go_through_the_rest_door(
    alice: Principal, ws_factory: Any
) -> None:
    transport = ws_factory(alice.key)
    with pytest.raises(ValidationError) as info:
        await transport.request("POST", "/v1/jobs", {"job_type": "echo", "price": "-1"})
    assert info.value.status == 422 and info.value.details
    body = {"job_type": "echo", "payload": {}, "price": "3"}
    first = await transport.request("POST", "/v1/jobs", body, headers={"Idempotency-Key": "k1"})
    again = await transport.request("POST", "/v1/jobs", body, headers={"Idempotency-Key": "k1"})
    assert first["id"] == again["id"]


async def test_bad_key_refused_at_handshake(node: Any, ws_factory: Any) -> None:
    transport = ws_factory("aitbc_not_a_key")
    with pytest.raises(AuthenticationError) as info:
        await transport.connect()
    assert info.value.status == 401 and info.value.code == "unauthenticated"
    assert not transport.is_connected


async def test_wrong_chain_refused(node: Any, alice: Principal, ws_factory: Any) -> None:
    with pytest.raises(NetworkMismatchError):
        await ws_factory(alice.key, chain_id=99).connect()


def test_bad_config_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        WebSocketTransport({"ws_url": "http://not-ws"})
    with pytest.raises(ConfigurationError):
        WebSocketTransport({"ws_url": "ws://x", "timeout": -1})


async def test_auth_message_instead_of_header(node: Any, alice: Principal) -> None:
    """A client that cannot set headers authenticates with a first ``auth`` message."""
    async with websockets.connect(node.ws_url) as raw:
        await raw.send('{"id": "1", "method": "GET", "path": "/v1/me"}')
        assert '"status":401' in str(await raw.recv())
        await raw.send(json.dumps({"id": "2", "method": "auth", "data": {"api_key": alice.key}}))
        assert alice.id in str(await raw.recv())
        await raw.send('{"id": "3", "method": "GET", "path": "/v1/me"}')
        assert alice.id in str(await raw.recv())


async def test_topic_permissions(node: Any, alice: Principal, ws_factory: Any) -> None:
    bob_id, bob_key = await node.create_principal("client", "bob")
    alice_ws, bob_ws = ws_factory(alice.key), ws_factory(bob_key)
    job = await alice_ws.request(
        "POST", "/v1/jobs", {"job_type": "echo", "payload": {}, "price": "1"}
    )
    with pytest.raises(PermissionDeniedError):
        await anext(bob_ws.stream("subscribe", f"account:{alice.id}"))
    with pytest.raises(NotFoundError):
        await anext(bob_ws.stream("subscribe", f"job:{job['id']}", {"resume_from": 0}))
    with pytest.raises(ConfigurationError):
        bob_ws.stream("subscribe", "job:x", {"resume_from": "1"})
    own = bob_ws.stream("subscribe", f"account:{bob_id}", {"resume_from": 0})
    market = bob_ws.stream("subscribe", "marketplace")
    await own.start()
    await market.start()  # public to any authenticated principal
    await node.faucet(bob_id, 7)
    event = await anext(own)
    assert event["event"] == "ledger.credit" and event["data"]["amount"] == "7"
    await own.aclose()
    await market.aclose()


async def test_disconnect_returns_promptly_with_work_in_flight(
    node: Any, alice: Principal, ws_factory: Any
) -> None:
    miner_id, miner_key = await node.create_principal("miner", "m")
    miner = ws_factory(miner_key)
    await miner.request(
        "POST",
        "/v1/miners/register",
        {
            "public_key": SigningKey.generate().verify_key.b64,
            "capabilities": {"job_types": ["never-offered"]},
        },
    )
    polls = [
        asyncio.ensure_future(miner.request("POST", "/v1/miners/poll", {"wait_seconds": 20}))
        for _ in range(20)
    ]
    subs = [miner.stream("subscribe", "marketplace") for _ in range(3)]
    for sub in subs:
        await sub.start()
    readers = [asyncio.ensure_future(anext(sub)) for sub in subs]
    await asyncio.sleep(0.2)  # let the long polls reach the node
    assert not any(p.done() for p in polls)
    await asyncio.wait_for(miner.disconnect(), 5)  # hang guard, not a speed assertion
    for future in [*polls, *readers]:
        with pytest.raises(TransportClosedError):
            await asyncio.wait_for(future, 5)
    with pytest.raises(TransportClosedError):
        await miner.request("GET", "/v1/me")
    assert miner_id


async def test_client_over_websocket(node: Any, alice: Principal) -> None:
    """AITBCClient with ``type: websocket`` (the seed's _create_transport path)."""
    from aitbc import AITBCClient

    client = AITBCClient(
        {
            "type": "websocket",
            "ws_url": node.ws_url,
            "chain_id": 1,
            "headers": {"X-API-Key": alice.key},
        }
    )
    await client.connect()
    try:
        assert isinstance(client.transport, WebSocketTransport)
        job = await client.jobs.create({"job_type": "echo", "payload": {"a": 1}, "price": 9})
        assert (await client.jobs.get(job.id)).state == job.state
        canceled = await client.jobs.cancel(job.id)
        assert canceled.state.value == "CANCELED"
    finally:
        await client.disconnect()


async def test_heartbeats_keep_a_live_client_and_drop_a_silent_one(
    node: Any, alice: Principal, ws_factory: Any
) -> None:
    tune(node, heartbeat_interval=0.1, heartbeat_timeout=2.0)
    transport = ws_factory(alice.key)
    await transport.connect()
    async with websockets.connect(
        node.ws_url, additional_headers={"X-API-Key": alice.key}, ping_interval=None
    ) as silent:
        with pytest.raises(websockets.exceptions.ConnectionClosed):
            async with asyncio.timeout(10):
                while True:  # read the node's pings but never answer
                    assert json.loads(await silent.recv())["type"] == "ping"
        assert silent.close_code == 4002
    assert transport.reconnects == 0  # the SDK answered every ping: still the first socket
    assert (await transport.request("GET", "/v1/me"))["id"] == alice.id


async def test_admin_kick_route(node: Any, alice: Principal, ws_factory: Any) -> None:
    transport = ws_factory(alice.key)
    await transport.connect()
    with pytest.raises(PermissionDeniedError):
        await transport.request("POST", "/v1/admin/realtime/kick")
    async with (
        aiohttp.ClientSession(headers={"X-API-Key": node.admin_key}) as http,
        http.post(f"{node.url}/v1/admin/realtime/kick") as resp,
    ):
        assert resp.status == 200 and await resp.json() == {"closed": 1}
    assert (await transport.request("GET", "/v1/me"))["id"] == alice.id  # came back
    assert transport.reconnects == 1
