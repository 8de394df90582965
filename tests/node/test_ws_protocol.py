"""Prepared WebSocket frames: the bytes websockets would send, written in order, with the
transport's backpressure, only where no extension makes frames differ per connection."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import uvicorn
from websockets.asyncio.client import connect
from websockets.frames import Frame, Opcode

from aitbc.node.events import EventRecord
from aitbc.node.realtime.hub import _WS_FRAMES_KEPT
from aitbc.node.realtime.hub import Frame as EventFrame
from aitbc.node.ws_protocol import PREPARED_FRAMES, PreparedFrameProtocol, text_frame

# -- the bytes --------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65_535, 65_536, 200_000])
def test_a_prepared_frame_is_what_websockets_sends(size: int) -> None:
    payload = ("é" * size).encode()[:size]  # multi-byte UTF-8, cut to the exact length
    expected = Frame(Opcode.TEXT, payload).serialize(mask=False, extensions=[])
    assert text_frame(payload) == expected


def test_an_event_frame_is_its_subscription_text_framed_once_per_prefix() -> None:
    record = _record(seq=7, data={"amount": "5", "note": "ü"})
    frame = EventFrame(record)
    prefix = '{"subscription_id":"s1",'
    built = frame.ws_frame(prefix.encode())
    text = prefix + frame.body[1:]
    assert built == text_frame(text.encode())
    assert json.loads(text) == {"subscription_id": "s1", **json.loads(frame.body)}
    assert frame.ws_frame(prefix.encode()) is built  # every subscriber with id s1 shares it
    # Past the kept prefixes, frames are still right, only not kept.
    for k in range(_WS_FRAMES_KEPT + 3):
        other = f'{{"subscription_id":"x{k}",'.encode()
        assert frame.ws_frame(other) == text_frame(other + frame.body[1:].encode())
    assert frame._ws_frames is not None and len(frame._ws_frames) == _WS_FRAMES_KEPT


def _record(seq: int, data: dict[str, Any]) -> EventRecord:
    return EventRecord("account:a", seq, "ledger.credit", data, datetime.now(UTC))


# -- the protocol, on a real server -----------------------------------------------------

App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


async def _serve(app: App, **options: Any) -> AsyncIterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    config = uvicorn.Config(app, log_level="warning", ws=PreparedFrameProtocol, **options)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    yield sock.getsockname()[1]
    server.should_exit = True
    await task


class _Probe:
    """An ASGI app that accepts, then runs the test's ``script(scope, receive, send)``."""

    def __init__(self) -> None:
        self.script: Callable[[dict[str, Any], Any, Any], Awaitable[None]] | None = None
        self.done = asyncio.Event()
        self.error: BaseException | None = None
        self.disconnected = False  # the script read the disconnect itself

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        try:
            assert self.script is not None
            await self.script(scope, receive, send)
        except BaseException as exc:
            self.error = exc
        finally:
            self.done.set()
        if not self.disconnected:
            while (await receive())["type"] != "websocket.disconnect":
                pass


@pytest.fixture
async def probe() -> _Probe:
    return _Probe()


@pytest.fixture
async def served(probe: _Probe) -> AsyncIterator[int]:
    async for port in _serve(probe, ws_per_message_deflate=False):
        yield port


async def test_prepared_frames_and_sends_arrive_in_order(probe: _Probe, served: int) -> None:
    async def script(scope: dict[str, Any], receive: Any, send: Any) -> None:
        prepared = scope["extensions"][PREPARED_FRAMES]
        assert prepared["write"](text_frame(b'{"n":1}'))
        await send({"type": "websocket.send", "text": '{"n":2}'})
        assert prepared["write"](text_frame(("x" * 70_000).encode()))

    probe.script = script
    async with connect(f"ws://127.0.0.1:{served}/", compression=None) as ws:
        assert [await ws.recv() for _ in range(3)] == ['{"n":1}', '{"n":2}', "x" * 70_000]
    assert probe.error is None


async def test_a_paused_transport_refuses_until_drained(probe: _Probe, served: int) -> None:
    """A peer that stops reading: writes are refused (nothing written) once the server's
    buffer is past its high-water mark, ``drained`` waits until the peer reads again,
    and every frame arrives whole and in order."""
    chunk = "y" * 60_000
    written: list[int] = []
    refused = asyncio.Event()
    reading = asyncio.Event()

    async def script(scope: dict[str, Any], receive: Any, send: Any) -> None:
        prepared = scope["extensions"][PREPARED_FRAMES]
        n = 0
        while not refused.is_set():
            frame = text_frame(f"{n:06d}{chunk}".encode())
            if prepared["write"](frame):
                written.append(n)
                n += 1
            else:
                refused.set()
                await reading.wait()
                await prepared["drained"]()
                assert prepared["write"](frame)
                written.append(n)
        await send({"type": "websocket.send", "text": "end"})

    probe.script = script
    async with connect(f"ws://127.0.0.1:{served}/", compression=None, max_size=None) as ws:
        tcp: Any = ws.transport
        tcp.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16)
        tcp.pause_reading()  # a frozen consumer: TCP pushes back on the server
        await asyncio.wait_for(refused.wait(), 30)
        reading.set()
        tcp.resume_reading()
        got = []
        while (message := await ws.recv()) != "end":
            assert isinstance(message, str) and message[6:] == chunk
            got.append(int(message[:6]))
    await asyncio.wait_for(probe.done.wait(), 30)
    assert probe.error is None
    assert got == written and len(written) > 1


async def test_after_close_a_write_is_refused_like_a_send(probe: _Probe, served: int) -> None:
    async def script(scope: dict[str, Any], receive: Any, send: Any) -> None:
        prepared = scope["extensions"][PREPARED_FRAMES]
        await send({"type": "websocket.close", "code": 4008, "reason": "slow consumer"})
        with pytest.raises(RuntimeError):
            prepared["write"](text_frame(b"late"))

    probe.script = script
    async with connect(f"ws://127.0.0.1:{served}/", compression=None) as ws:
        await ws.wait_closed()
        assert ws.close_code == 4008
    assert probe.error is None


async def test_a_write_to_a_peer_that_left_raises_oserror(probe: _Probe, served: int) -> None:
    async def script(scope: dict[str, Any], receive: Any, send: Any) -> None:
        prepared = scope["extensions"][PREPARED_FRAMES]
        assert (await receive())["type"] == "websocket.disconnect"
        probe.disconnected = True
        with pytest.raises(OSError):  # uvicorn's ClientDisconnected, as send raises
            prepared["write"](text_frame(b"anyone?"))
        with pytest.raises(OSError):
            await send({"type": "websocket.send", "text": "anyone?"})

    probe.script = script
    async with connect(f"ws://127.0.0.1:{served}/", compression=None):
        pass  # the client closes
    await asyncio.wait_for(probe.done.wait(), 30)
    assert probe.error is None


async def test_no_prepared_frames_when_permessage_deflate_is_negotiated(probe: _Probe) -> None:
    seen: list[bool] = []

    async def script(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(PREPARED_FRAMES in scope["extensions"])
        await send({"type": "websocket.send", "text": "compressed"})

    probe.script = script
    async for port in _serve(probe, ws_per_message_deflate=True):
        async with connect(f"ws://127.0.0.1:{port}/", compression="deflate") as ws:
            assert await ws.recv() == "compressed"
            assert ws.protocol.extensions  # deflate was negotiated...
    assert seen == [False]  # ...so the app was not offered frames it would get wrong
