"""SSE (``HTTPTransport.stream``) against a real node: resume, dedup, errors."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from socket import SO_RCVBUF, SOL_SOCKET
from typing import Any

import aiohttp
import pytest

from aitbc.core.streams import CLOSE_SERVER_KICK, SSEDecoder, decode_positions
from aitbc.errors import (
    AuthenticationError,
    ConfigurationError,
    ConnectError,
    PermissionDeniedError,
    StreamGapError,
)
from aitbc.transports.http import HTTPTransport

from .conftest import Principal, emit, realtime_of, tune


@pytest.fixture
async def http(node: Any, alice: Principal) -> AsyncIterator[HTTPTransport]:
    transport = HTTPTransport({"base_url": node.url, "default_headers": {"X-API-Key": alice.key}})
    yield transport
    await transport.disconnect()


async def test_sse_two_topics_exactly_once_across_kicks(
    node: Any, alice: Principal, http: HTTPTransport
) -> None:
    account, market = f"account:{alice.id}", "marketplace"
    rt = realtime_of(node)
    async with http.stream("subscribe", f"{account},{market}", {"resume_from": 0}) as stream:
        producer = asyncio.ensure_future(
            asyncio.gather(emit(node, account, 150, per_tx=2), emit(node, market, 150, per_tx=3))
        )
        seen: dict[str, list[int]] = {account: [], market: []}
        total = 0
        async for event in stream:
            seen[event["topic"]].append(event["seq"])
            total += 1
            if total in (50, 150, 250):
                rt.kick_all(CLOSE_SERVER_KICK, "test kick")
            if total == 301:  # the faucet's credit plus 150 on each topic
                break
        await producer
    assert seen[account] == list(range(1, 152))
    assert seen[market] == list(range(1, 151))
    assert stream.reconnects >= 1


async def test_last_event_id_resumes_every_topic(node: Any, alice: Principal) -> None:
    """Raw SSE: the ids encode each topic's position and Last-Event-ID resumes them."""
    account, market = f"account:{alice.id}", "marketplace"
    await emit(node, market, 5)
    headers = {"X-API-Key": alice.key, "Last-Event-ID": f"{market}=3"}
    params = {"topics": f"{market},{account}"}
    url = f"{node.url}/v1/events"
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, params=params, headers=headers) as resp,
    ):
        assert resp.status == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        decoder, frames = SSEDecoder(), []
        while len(frames) < 3:
            frames += decoder.feed(await resp.content.readany())
    hello, fourth, fifth = frames[:3]
    assert hello.event == "subscribed"
    assert decode_positions(hello.id or "") == {market: 3, account: 1}  # account: "now"
    assert [json.loads(f.data)["seq"] for f in (fourth, fifth)] == [4, 5]
    assert decode_positions(fifth.id or "") == {market: 5, account: 1}


async def test_new_stream_resumes_from_previous_last_event_id(
    node: Any, alice: Principal, http: HTTPTransport
) -> None:
    topic = f"jobs:{alice.id}"
    await emit(node, topic, 3)
    first = http.stream("subscribe", topic, {"resume_from": 0})
    assert [(await anext(first))["seq"] for _ in range(3)] == [1, 2, 3]
    resume_at = first.last_event_id
    await first.aclose()
    await emit(node, topic, 2)
    async with http.stream("subscribe", topic, {"last_event_id": resume_at}) as second:
        assert [(await anext(second))["data"]["n"] for _ in range(2)] == [1, 2]
        assert second.last_event_id == f"{topic}=5"


async def _stalled_sse_client(node: Any, key: str, topic: str) -> Any:
    """A raw HTTP/1.0 SSE client on a socket with a small fixed receive buffer (no
    autotuning), so a consumer that stops reading really pushes back on the node."""
    host, port = node.url.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.setsockopt(SOL_SOCKET, SO_RCVBUF, 1 << 16)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
    reader, writer = await asyncio.open_connection(sock=sock)
    writer.write(
        f"GET /v1/events?topics={topic}&resume_from=0 HTTP/1.0\r\n"
        f"Host: {host}\r\nX-API-Key: {key}\r\n\r\n".encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    return reader, writer


async def test_slow_sse_consumer_is_cut_off_and_resumes(
    node: Any, alice: Principal, http: HTTPTransport
) -> None:
    tune(node, outbound_queue=2, slow_consumer_grace=0.05)
    rt = realtime_of(node)
    topic = f"receipts:{alice.id}"
    reader, writer = await _stalled_sse_client(node, alice.key, topic)
    decoder = SSEDecoder()
    frames = decoder.feed(await reader.read(1024))  # the hello frame, then: stop reading
    await emit(node, topic, 40, size=200_000, per_tx=40)  # one burst of ~8 MB
    for _ in range(200):
        if rt.slow_consumers_closed:
            break
        await asyncio.sleep(0.05)
    assert rt.slow_consumers_closed == 1
    while chunk := await reader.read(1 << 16):  # wake up: read what got through, to EOF
        frames += decoder.feed(chunk)
    writer.close()
    await writer.wait_closed()
    events = [json.loads(f.data) for f in frames if f.event == "test.tick"]
    assert frames[-1].event == "error" and "slow_consumer" in frames[-1].data
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1)) and len(events) < 40
    # Resume from the last id the stalled client saw: the rest, exactly once.
    resume = {"last_event_id": decoder.last_event_id}
    async with http.stream("subscribe", topic, resume) as stream:
        rest = [(await anext(stream))["seq"] for _ in range(40 - len(events))]
    assert rest == list(range(len(events) + 1, 41))


async def test_sse_errors_are_typed(node: Any, alice: Principal, http: HTTPTransport) -> None:
    with pytest.raises(StreamGapError):
        await anext(http.stream("subscribe", f"account:{alice.id}", {"resume_from": 99}))
    bob_id, _ = await node.create_principal("client", "bob")
    with pytest.raises(PermissionDeniedError):
        await anext(http.stream("subscribe", f"account:{bob_id}"))
    with pytest.raises(ConfigurationError):
        http.stream("subscribe", "nonsense:x")
    stranger = HTTPTransport({"base_url": node.url, "default_headers": {"X-API-Key": "nope"}})
    try:
        with pytest.raises(AuthenticationError):
            await anext(stranger.stream("subscribe", "marketplace"))
    finally:
        await stranger.disconnect()


async def test_node_shutdown_is_not_held_up_by_an_open_stream(tmp_path: Any) -> None:
    from aitbc.node.embedded import run_node

    transport = None
    try:
        async with run_node(f"sqlite+aiosqlite:///{tmp_path / 'n.sqlite3'}") as node:
            _, key = await node.create_principal("client", "dave")
            transport = HTTPTransport(
                {
                    "base_url": node.url,
                    "default_headers": {"X-API-Key": key},
                    "max_reconnect_attempts": 0,
                }
            )
            stream = transport.stream("subscribe", "marketplace")
            reader = asyncio.ensure_future(anext(stream))
            await asyncio.sleep(0.3)  # the stream is open and idle
            exit_guard = asyncio.get_running_loop().time()
        # Left the block: the node stopped although the stream never ended by itself.
        assert asyncio.get_running_loop().time() - exit_guard < 30
        with pytest.raises(Exception):  # noqa: B017 - the stream is gone, any mapped error
            await asyncio.wait_for(reader, 10)
    finally:
        if transport is not None:
            await transport.disconnect()


async def test_first_open_failure_is_a_connect_error() -> None:
    transport = HTTPTransport({"base_url": "http://127.0.0.1:9", "max_retries": 0})
    try:
        with pytest.raises(ConnectError):
            await anext(transport.stream("subscribe", "marketplace"))
    finally:
        await transport.disconnect()
