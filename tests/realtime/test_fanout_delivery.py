"""Fan-out against a real node: many subscribers over WS and SSE get each event exactly
once; news from another worker costs one log read per topic; the realtime reads do not
queue for the write lock; a subscription whose read fails ends resumably and the SDK
resumes without loss."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import TimeoutError as PoolTimeout

from aitbc.transports.http import HTTPTransport
from aitbc.transports.websocket import WebSocketTransport

from .conftest import Principal, emit, realtime_of

TOPIC = "marketplace"


async def _take(stream: Any, count: int) -> list[int]:
    seqs: list[int] = []
    async with asyncio.timeout(60):  # a hang guard only; the assertions are on contents
        async for event in stream:
            seqs.append(event["seq"])
            if len(seqs) == count:
                return seqs
    return seqs


async def test_many_subscribers_exactly_once_and_one_read_per_topic(
    node_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AITBC_REALTIME_RESYNC_INTERVAL", "3600")  # no sweep during the test
    shared = f"sqlite+aiosqlite:///{tmp_path / 'shared.sqlite3'}"
    node = await node_factory(database_url=shared)
    other = await node_factory(database_url=shared)  # a second worker on the same log
    _, key = await node.create_principal("client", "many")
    rt = realtime_of(node)
    reads_before_subscribing = rt.log_reads
    ws = [WebSocketTransport({"ws_url": node.ws_url, "api_key": key}) for _ in range(30)]
    headers = {"X-API-Key": key}
    sse = [HTTPTransport({"base_url": node.url, "default_headers": headers}) for _ in range(10)]
    try:
        streams: list[Any] = [t.stream("subscribe", TOPIC, {"resume_from": 0}) for t in ws]
        for stream in streams:
            await stream.start()
        streams += [t.stream("subscribe", TOPIC, {"resume_from": 0}) for t in sse]
        collectors = [asyncio.ensure_future(_take(s, 8)) for s in streams]
        for _ in range(6000):  # the SSE streams open on first iteration
            if len(rt.connections) == 40:
                break
            await asyncio.sleep(0.01)
        assert len(rt.connections) == 40
        # 40 subscribers, one topic: the channel read its head once.
        assert rt.log_reads - reads_before_subscribing == 1
        await emit(node, TOPIC, 5, per_tx=2)  # local commits: handed over, no query
        reads_before_remote = rt.log_reads
        await emit(other, TOPIC, 3)  # another worker's commits: we only hear a notification
        rt.hub.notify(TOPIC)
        results = await asyncio.gather(*collectors)
        assert all(seqs == list(range(1, 9)) for seqs in results), results
        assert rt.log_reads - reads_before_remote == 1  # one read for 40 subscribers
    finally:
        for transport in [*ws, *sse]:
            await transport.disconnect()


async def test_realtime_reads_do_not_wait_for_the_write_lock(
    node: Any, alice: Principal, ws_factory: Any
) -> None:
    await emit(node, TOPIC, 3)
    path = str(node.node.engine.url.database)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # a long write transaction holds the write lock
    try:
        sub = ws_factory(alice.key).stream("subscribe", TOPIC, {"resume_from": 0})
        assert await _take(sub, 3) == [1, 2, 3]  # subscribe + replay ran on the read path
        await sub.aclose()
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()


def _fail_next_read(rt: Any) -> list[int]:
    """Make the hub's next log read fail like an exhausted pool; returns a call log."""
    real, failures = rt.hub.read, []

    async def flaky(topic: str, after: int) -> Any:
        if not failures:
            failures.append(after)
            raise PoolTimeout("QueuePool limit of size 5 overflow 10 reached")
        return await real(topic, after)

    rt.hub.read = flaky
    return failures


async def test_failed_read_closes_the_socket_and_the_sdk_resumes_without_loss(
    node: Any, alice: Principal
) -> None:
    rt = realtime_of(node)
    transport = WebSocketTransport({"ws_url": node.ws_url, "api_key": alice.key})
    try:
        sub = transport.stream("subscribe", TOPIC, {"resume_from": 0})
        await sub.start()
        await emit(node, TOPIC, 3)
        assert await _take(sub, 3) == [1, 2, 3]
        failures = _fail_next_read(rt)
        rt.hub.notify(TOPIC)  # as if another worker committed: the channel must read
        await emit(node, TOPIC, 3)
        assert await _take(sub, 3) == [4, 5, 6]
        assert failures == [3]  # the read did fail...
        assert transport.reconnects == 1  # ...and the node closed, the SDK resumed
    finally:
        await transport.disconnect()


async def test_failed_read_ends_the_sse_stream_and_the_sdk_resumes_without_loss(
    node: Any, alice: Principal
) -> None:
    rt = realtime_of(node)
    http = HTTPTransport({"base_url": node.url, "default_headers": {"X-API-Key": alice.key}})
    try:
        async with http.stream("subscribe", TOPIC, {"resume_from": 0}) as stream:
            await emit(node, TOPIC, 3)
            assert await _take(stream, 3) == [1, 2, 3]
            failures = _fail_next_read(rt)
            rt.hub.notify(TOPIC)
            await emit(node, TOPIC, 3)
            assert await _take(stream, 3) == [4, 5, 6]
            assert failures == [3]
            assert stream.reconnects == 1
    finally:
        await http.disconnect()
