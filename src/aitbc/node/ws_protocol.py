"""uvicorn's websockets-sansio protocol, plus a way to write frames the app built itself.

Every ``websocket.send`` goes through uvicorn's ``send`` coroutine and websockets' framing:
a coroutine, an event wait, a ``Frame`` object, its serialisation and a join, per message
and per connection. For one event fanned out to thousands of subscribers that is the
same bytes framed thousands of times. A server's frames are not masked, so without an
extension (permessage-deflate) a text frame is the same for every connection: the node
builds it once (:func:`text_frame`) and hands it to each connection's
:data:`PREPARED_FRAMES` extension, which writes it straight to the transport.

The extension is in ``scope["extensions"]`` only when the handshake negotiated no
WebSocket extension (the frames would differ per connection otherwise). It holds:

``write(frame: bytes) -> bool``
    Write one complete frame now: True when written, False when the transport is paused
    (its buffer is past the high-water mark) and nothing was written; then await
    ``drained()`` and try again. Raises ``OSError`` (uvicorn's ``ClientDisconnected``)
    when the peer is gone or closing, ``RuntimeError`` when the app already closed the
    connection or never accepted it, as ``send`` does.
``drained() -> Awaitable[None]``
    Wait until the transport takes writes again (what ``send`` waits for first).

Frames written this way and messages sent through ``send`` share one transport in the
order the app issues them; a paused transport holds back both.
"""

from __future__ import annotations

import struct
from collections.abc import Awaitable
from typing import Any

from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

#: The ASGI scope extension offering :meth:`PreparedFrameProtocol.write_frame`.
PREPARED_FRAMES = "aitbc.websocket.prepared_frames"

_FIN_TEXT = 0x81  # FIN set, RSV bits clear (no extension), opcode 1 (text)


def text_frame_header(length: int) -> bytes:
    """The header of an unfragmented, unmasked, uncompressed text frame whose payload
    is ``length`` bytes (RFC 6455 §5.2: 7-bit, 16-bit or 64-bit length)."""
    if length < 126:
        return bytes((_FIN_TEXT, length))
    if length < 0x10000:
        return struct.pack("!BBH", _FIN_TEXT, 126, length)
    return struct.pack("!BBQ", _FIN_TEXT, 127, length)


def text_frame(payload: bytes) -> bytes:
    """A whole server text frame carrying ``payload`` (UTF-8), as websockets would send it
    on a connection without extensions."""
    return text_frame_header(len(payload)) + payload


class PreparedFrameProtocol(WebSocketsSansIOProtocol):
    """``WebSocketsSansIOProtocol`` (pass as uvicorn's ``ws=``) that offers the app the
    :data:`PREPARED_FRAMES` extension."""

    async def run_asgi(self) -> None:
        # The handshake has been answered by now (handle_connect accepts before it starts
        # this task), so the negotiated extensions are known.
        if not self.conn.extensions:
            prepared: dict[object, object] = {"write": self.write_frame, "drained": self.drained}
            self.scope["extensions"][PREPARED_FRAMES] = prepared
        await super().run_asgi()

    def write_frame(self, frame: bytes) -> bool:
        """Write a complete frame now; False (nothing written) while the transport is
        paused. The checks are ``send``'s for a ``websocket.send``."""
        if self.disconnected:
            raise ClientDisconnected()
        if not self.handshake_complete or self.close_sent or self.initial_response is not None:
            raise RuntimeError("the WebSocket is not open for messages from the app")
        if self.conn.state is not State.OPEN:
            raise ClientDisconnected()  # the peer is closing (send's InvalidState)
        if not self.writable.is_set():
            return False
        self.transport.write(frame)
        return True

    def drained(self) -> Awaitable[Any]:
        """Wait until the transport is below its low-water mark (or the connection is
        lost, which also releases writers)."""
        return self.writable.wait()
