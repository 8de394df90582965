"""uvicorn's httptools protocol with one socket write per response, not two.

uvicorn writes a response's status line and headers when the app sends
``http.response.start`` and the body when it sends ``http.response.body``: two ``send()``
system calls and two TCP segments for every small JSON answer, and on loopback each one
wakes the reading client. Profiled under the full job cycle (28 clients polling), those
writes were a fifth of the node's CPU. Here the head waits for the body and both go out
in one write; a head never waits beyond the event-loop iteration that produced it, and
nothing else waits at all (stream chunks, WebSocket frames).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class _CoalescingTransport:
    """A transport that holds a response head until its body is written, then writes
    both at once.

    A head (a write starting ``HTTP/``) waits for the next write on the connection, or
    for the end of the loop iteration, whichever comes first; every other write goes
    straight through, so a stream's chunks are not delayed at all. Anything that could
    observe or end the byte stream (close, write_eof, buffer size) flushes the head
    first.
    """

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._head: bytes | None = None

    @property
    def real(self) -> asyncio.Transport:
        return self._transport

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._head is not None:
            head, self._head = self._head, None
            self._transport.write(head + bytes(data))
        elif bytes(data[:5]) == b"HTTP/":
            self._head = bytes(data)
            self._loop.call_soon(self.flush)
        elif data:
            self._transport.write(data)

    def writelines(self, chunks: Any) -> None:
        self.write(b"".join(chunks))

    def flush(self) -> None:
        """Write a held head now (no body came in its loop iteration)."""
        if self._head is None:
            return
        head, self._head = self._head, None
        if not self._transport.is_closing():  # else the peer is gone: nobody to tell
            self._transport.write(head)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._head = None
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        held = 0 if self._head is None else len(self._head)
        return self._transport.get_write_buffer_size() + held

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` over a :class:`_CoalescingTransport` (pass as uvicorn's
    ``http=``). A connection upgraded to WebSocket gets the real transport: frames are
    written as the WebSocket side sends them."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        wrapped = _CoalescingTransport(transport, asyncio.get_running_loop())
        super().connection_made(wrapped)  # type: ignore[arg-type]

    def handle_websocket_upgrade(self) -> None:
        if isinstance(self.transport, _CoalescingTransport):
            self.transport.flush()
            self.transport = self.transport.real
        super().handle_websocket_upgrade()
