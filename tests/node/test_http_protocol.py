"""The served node writes a response's head and body in one socket write."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from aitbc.node.http_protocol import CoalescingHttpToolsProtocol, _CoalescingTransport


class _Recording(asyncio.Transport):
    """A transport that keeps what was written (each call separately)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_write_buffer_size(self) -> int:
        return 0


async def test_a_head_waits_for_its_body_and_nothing_else_waits() -> None:
    real = _Recording()
    transport = _CoalescingTransport(real, asyncio.get_running_loop())
    transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    assert real.writes == []
    assert transport.get_write_buffer_size() == len(b"HTTP/1.1 200 OK\r\n\r\n")
    transport.write(b'{"ok":true}')
    assert real.writes == [b'HTTP/1.1 200 OK\r\n\r\n{"ok":true}']
    transport.write(b"data: more\n\n")  # a stream's next chunk goes straight out
    assert real.writes[-1] == b"data: more\n\n"


async def test_a_head_without_a_body_goes_out_at_the_end_of_the_iteration() -> None:
    real = _Recording()
    transport = _CoalescingTransport(real, asyncio.get_running_loop())
    transport.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
    await asyncio.sleep(0)
    assert real.writes == [b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"]


async def test_close_writes_a_held_head_first() -> None:
    real = _Recording()
    transport = _CoalescingTransport(real, asyncio.get_running_loop())
    transport.write(b"HTTP/1.1 204 No Content\r\n\r\n")
    transport.close()
    assert real.writes == [b"HTTP/1.1 204 No Content\r\n\r\n"]
    assert real.closed


async def _json(_: Any) -> JSONResponse:
    return JSONResponse({"ok": True})


async def _stream(_: Any) -> StreamingResponse:
    async def chunks() -> Any:
        for i in range(3):
            yield f"chunk {i}\n".encode()

    return StreamingResponse(chunks(), media_type="text/plain")


@pytest.fixture
async def served() -> Any:
    app = Starlette(routes=[Route("/json", _json), Route("/stream", _stream)])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)  # connections wait in the backlog until the server accepts them
    config = uvicorn.Config(app, log_level="warning", http=CoalescingHttpToolsProtocol)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    yield sock.getsockname()[1]
    server.should_exit = True
    await task


async def _exchange(port: int, path: str) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n".encode())
    data = await reader.read()
    writer.close()
    return data


async def test_a_real_server_answers_whole_responses_and_streams(served: int) -> None:
    answer = await _exchange(served, "/json")
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert answer.endswith(b'\r\n\r\n{"ok":true}')
    streamed = await _exchange(served, "/stream")
    assert streamed.startswith(b"HTTP/1.1 200 OK\r\n")
    for i in range(3):
        assert f"chunk {i}\n".encode() in streamed
