"""uvicorn options shared by every way the node is served (``aitbc serve``, its workers,
the embedded node of tests and the demo)."""

from __future__ import annotations

from typing import Any

#: ``websockets-sansio``: no tasks of its own per connection (the legacy implementation
#: runs three), so an idle subscriber costs less memory, and a close is handed to the
#: reader at once. No protocol-level pings: the door's own heartbeat (``ping`` frames,
#: ``heartbeat_timeout``) already finds dead peers, one timer per connection is enough.
UVICORN_OPTIONS: dict[str, Any] = {"ws": "websockets-sansio", "ws_ping_interval": None}
