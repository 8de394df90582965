"""uvicorn options shared by every way the node is served (``aitbc serve``, its workers,
the embedded node of tests and the demo)."""

from __future__ import annotations

from typing import Any

from .ws_protocol import PreparedFrameProtocol


def _http_protocol() -> Any:
    """One socket write per response (:mod:`aitbc.node.http_protocol`) when httptools is
    installed (``aitbc[node]``), else whatever uvicorn picks."""
    try:
        from .http_protocol import CoalescingHttpToolsProtocol
    except ImportError:
        return "auto"
    return CoalescingHttpToolsProtocol


#: ``ws``: uvicorn's ``websockets-sansio`` (no tasks of its own per connection, the legacy
#: implementation runs three, so an idle subscriber costs less memory, and a close is
#: handed to the reader at once) with prepared frames (:mod:`aitbc.node.ws_protocol`: an
#: event's frame is built once for all its subscribers). No permessage-deflate: it would
#: compress every event again for each subscriber, hold a compressor per connection,
#: and make frames differ per connection (so none could be prepared); the node's frames
#: are small JSON. No protocol-level pings: the door's own heartbeat (``ping`` frames,
#: ``heartbeat_timeout``) already finds dead peers, one timer per connection is enough.
#: ``http``: a response's head and body in one write (see :func:`_http_protocol`).
UVICORN_OPTIONS: dict[str, Any] = {
    "ws": PreparedFrameProtocol,
    "ws_per_message_deflate": False,
    "ws_ping_interval": None,
    "http": _http_protocol(),
}
