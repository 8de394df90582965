"""Subscriptions over a real node: exactly once, in order, through every kind of drop."""

from __future__ import annotations

import asyncio
from socket import SO_RCVBUF, SOL_SOCKET
from typing import Any

import pytest
from sqlalchemy import delete

from aitbc.core.streams import CLOSE_SERVER_KICK
from aitbc.errors import StreamGapError
from aitbc.node.models import EventRow
from aitbc.transports.websocket import WebSocketTransport

from .conftest import Principal, emit, realtime_of, tune


async def _collect(sub: Any, count: int, on_event: Any = None) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    async for event in sub:
        events.append(event)
        if on_event is not None:
            on_event(len(events))
        if len(events) == count:
            break
    return events


async def _kill_while_streaming(node: Any, transport: WebSocketTransport, topic: str) -> None:
    """1,000 events on ``topic`` while the node drops the socket five times: the
    subscriber must see each exactly once, in order."""
    rt = realtime_of(node)
    kicks: list[int] = []

    def kick_sometimes(received: int) -> None:
        if received in (100, 300, 500, 700, 900):
            kicks.append(rt.kick_all(CLOSE_SERVER_KICK, "test kick"))

    sub = transport.stream("subscribe", topic)  # live from now: after seq 1, the faucet's
    await sub.start()
    producer = asyncio.ensure_future(emit(node, topic, 1000, per_tx=3))
    events = await asyncio.wait_for(_collect(sub, 1000, kick_sometimes), 120)
    await producer
    assert [e["seq"] for e in events] == list(range(2, 1002))
    assert [e["data"]["n"] for e in events] == list(range(1, 1001))
    assert all(e["topic"] == topic and e["event"] == "test.tick" for e in events)
    assert kicks == [1, 1, 1, 1, 1]  # each kick dropped the live connection...

    # ...and the transport comes back each time. The last kick can land while the tail of
    # the stream is still buffered client-side, so the fifth reconnect may follow the last
    # event; wait for it with a bound that a loaded 2-core machine cannot run out of.
    async def fifth_reconnect() -> None:
        while transport.reconnects < 5:  # noqa: ASYNC110 (a counter, not an event)
            await asyncio.sleep(0.02)

    await asyncio.wait_for(fifth_reconnect(), 60)  # TimeoutError fails the test
    await sub.aclose()


async def test_1000_events_exactly_once_in_order_across_server_kills(
    node: Any, alice: Principal, ws_factory: Any
) -> None:
    await _kill_while_streaming(node, ws_factory(alice.key), f"account:{alice.id}")


@pytest.mark.postgres
async def test_1000_events_across_server_kills_on_postgres(pg_node: Any) -> None:
    pid, key = await pg_node.create_principal("client", "erin")
    await pg_node.faucet(pid, 100)
    transport = WebSocketTransport({"ws_url": pg_node.ws_url, "api_key": key})
    try:
        await _kill_while_streaming(pg_node, transport, f"account:{pid}")
    finally:
        await transport.disconnect()


async def test_server_cuts_off_a_slow_consumer_which_resumes_without_loss(
    node: Any, alice: Principal, ws_factory: Any
) -> None:
    tune(node, outbound_queue=4, slow_consumer_grace=0.3)
    rt = realtime_of(node)
    transport = ws_factory(alice.key)
    topic = f"jobs:{alice.id}"
    sub = transport.stream("subscribe", topic, {"resume_from": 0})
    await sub.start()
    socket = transport.websocket
    assert socket is not None
    # Stall the client's socket as a frozen consumer process would: nothing is read, and
    # websockets' own flow control may not undo it. TCP pushes back on the node.
    tcp = socket.transport
    # A fixed small receive buffer (no autotuning to 32 MB) so a few MB fill the pipe.
    tcp.get_extra_info("socket").setsockopt(SOL_SOCKET, SO_RCVBUF, 1 << 16)
    resume = tcp.resume_reading
    tcp.pause_reading()
    tcp.resume_reading = lambda: None  # type: ignore[method-assign]
    await emit(node, topic, 60, size=100_000, per_tx=5)
    for _ in range(200):
        if rt.slow_consumers_closed:
            break
        await asyncio.sleep(0.05)
    assert rt.slow_consumers_closed == 1
    tcp.resume_reading = resume  # type: ignore[method-assign]
    resume()  # the consumer wakes up: it reads what got through, then resumes from the log
    events = await asyncio.wait_for(_collect(sub, 60), 60)
    assert [e["data"]["n"] for e in events] == list(range(1, 61))
    assert [e["seq"] for e in events] == list(range(1, 61))
    assert transport.reconnects >= 1
    await sub.aclose()


async def test_client_buffer_overflow_is_lossless(
    node: Any, alice: Principal, ws_factory: Any
) -> None:
    """A consumer slower than the stream: the small client buffer overflows, the transport
    unsubscribes and resumes from the log once drained; nothing lost, nothing repeated."""
    transport = ws_factory(alice.key, queue_size=5)
    topic = f"receipts:{alice.id}"
    sub = transport.stream("subscribe", topic, {"resume_from": 0})
    await sub.start()
    other = transport.stream("subscribe", f"account:{alice.id}", {"resume_from": 0})
    await emit(node, topic, 200, per_tx=50)
    got: list[int] = []
    async for event in sub:
        got.append(event["seq"])
        if len(got) % 20 == 0:
            await asyncio.sleep(0.02)  # slow consumer
        if len(got) == 200:
            break
    assert got == list(range(1, 201))
    # The other subscription on the same socket was not disturbed.
    assert (await anext(other))["event"] == "ledger.credit"
    assert await transport.request("GET", "/v1/me")
    await sub.aclose()
    await other.aclose()


async def test_resume_beyond_the_log_is_a_gap(alice: Principal, ws_factory: Any) -> None:
    transport = ws_factory(alice.key)
    with pytest.raises(StreamGapError) as info:
        await anext(transport.stream("subscribe", f"account:{alice.id}", {"resume_from": 50}))
    assert info.value.topic == f"account:{alice.id}"


async def test_pruned_history_raises_gap_instead_of_skipping(
    node: Any, alice: Principal, ws_factory: Any
) -> None:
    topic = f"jobs:{alice.id}"
    await emit(node, topic, 10)
    async with node.node.transaction() as tx:  # an operator prunes old history
        await tx.session.execute(delete(EventRow).where(EventRow.topic == topic, EventRow.seq <= 5))
    transport = ws_factory(alice.key)
    sub = transport.stream("subscribe", topic, {"resume_from": 2})
    with pytest.raises(StreamGapError) as info:
        await anext(sub)
    assert info.value.last_seq == 2
    # From a position the log still has, the stream continues normally.
    tail = transport.stream("subscribe", topic, {"resume_from": 5})
    assert [e["seq"] for e in await _collect(tail, 5)] == [6, 7, 8, 9, 10]
    await tail.aclose()


async def test_leaving_the_iterator_unsubscribes(
    node: Any, alice: Principal, ws_factory: Any
) -> None:
    transport = ws_factory(alice.key)
    async with transport.stream("subscribe", "marketplace") as sub:
        await emit(node, "marketplace", 1)
        assert (await anext(sub))["seq"] == 1
    rt = realtime_of(node)
    for _ in range(100):
        if "marketplace" not in rt.hub.topics:
            break
        await asyncio.sleep(0.01)
    assert "marketplace" not in rt.hub.topics  # the node dropped the feed
    broken = transport.stream("subscribe", "marketplace")
    await broken.start()
    await emit(node, "marketplace", 1)
    async for _ in broken:
        break
    # ``break`` alone never calls aclose(); dropping the iterator still cleans up.
    del broken
    for _ in range(100):
        if "marketplace" not in rt.hub.topics:
            break
        await asyncio.sleep(0.01)
    assert "marketplace" not in rt.hub.topics
