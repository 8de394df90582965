"""EventStreamResponse on a real uvicorn server: whole streams, and a client that leaves."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from aitbc.node.event_stream import EventStreamResponse
from aitbc.node.http_protocol import CoalescingHttpToolsProtocol


@dataclass
class Probe:
    """What the served generators saw."""

    started: asyncio.Event = field(default_factory=asyncio.Event)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)


def _app(probe: Probe) -> Starlette:
    async def pieces(count: int, hold: bool) -> AsyncGenerator[bytes, None]:
        try:
            for i in range(count):
                yield f"data: {i}\n\n".encode()
            probe.started.set()
            if hold:  # a job that is still running: the stream waits for its next event
                await probe.release.wait()
                yield b"data: late\n\n"
        finally:
            probe.closed.set()

    async def whole(_: Request) -> EventStreamResponse:
        return EventStreamResponse(pieces(3, hold=False), headers={"X-Test": "1"})

    async def held(_: Request) -> EventStreamResponse:
        return EventStreamResponse(pieces(1, hold=True))

    return Starlette(routes=[Route("/whole", whole), Route("/held", held)])


@pytest.fixture
async def served() -> AsyncIterator[tuple[int, Probe]]:
    probe = Probe()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    config = uvicorn.Config(_app(probe), log_level="warning", http=CoalescingHttpToolsProtocol)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    yield sock.getsockname()[1], probe
    probe.release.set()
    server.should_exit = True
    await task


async def _open(port: int, path: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n".encode())
    await writer.drain()
    return reader, writer


async def test_a_whole_stream_arrives_with_its_headers_and_ends(served: Any) -> None:
    port, probe = served
    reader, writer = await _open(port, "/whole")
    answer = await reader.read()  # EOF: the response ended
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert b"content-type: text/event-stream" in head.lower()
    assert b"x-test: 1" in head.lower()
    for i in range(3):
        assert f"data: {i}\n\n".encode() in body
    assert body.endswith(b"0\r\n\r\n")  # the chunked body's terminator
    assert probe.closed.is_set()


async def test_a_client_that_leaves_closes_the_waiting_generator(served: Any) -> None:
    port, probe = served
    reader, writer = await _open(port, "/held")
    first = await reader.readuntil(b"data: 0\n\n")
    assert first.startswith(b"HTTP/1.1 200 OK")
    await probe.started.wait()
    assert not probe.closed.is_set()
    writer.close()  # the client leaves while the generator waits for its next event
    await writer.wait_closed()
    # Bounded only so a regression fails instead of hanging; no event ever comes.
    await asyncio.wait_for(probe.closed.wait(), 10)
