"""WebSocketTransport: many requests and subscriptions over one WebSocket.

One reader task owns ``recv``; every request gets a future keyed by its id, so any number
of coroutines share the socket without racing (web3.py #2090). The reader never waits:
responses resolve futures at once and events go into bounded per-subscription buffers.

Lossless subscriptions. Each subscription remembers the last sequence number it
delivered. After a dropped connection the transport reconnects (exponential backoff,
full jitter), re-authenticates (the API key rides on every handshake) and resubscribes
every live subscription with ``resume_from`` = that number; replayed duplicates are
dropped, so a subscriber sees each event exactly once, in order. When the node cannot
replay (history pruned) the iterator raises :class:`~aitbc.errors.StreamGapError`.

Overflow policy. A subscription buffer holds ``queue_size`` events. When the consumer is
slower than the stream and the buffer is full, the transport does NOT block the reader
and does NOT drop silently: it unsubscribes that one subscription and, once the consumer
has drained the buffer, resubscribes from the last buffered seq. The node's event log is
the overflow storage; other subscriptions and responses are unaffected.

Requests. ``request_once`` sends one request envelope; if the socket drops before the
answer it raises ConnectionClosed at once, and while the transport is reconnecting a
failed attempt raises ConnectError: no call sits on a dead socket until its deadline.
:class:`aitbc.AITBCClient` retries those per its policy (a request is resent on the new
socket when that cannot act twice); ``request`` applies the same policy from this config
(``max_retries``, ``backoff_base``, ``backoff_cap``, ``retry_statuses``). ``connect()``
retries a first handshake that was cut.

Config keys: ``ws_url`` (required), ``headers``, ``api_key`` (sent as ``X-API-Key``),
``chain_id`` (checked against ``/v1/info`` on every connect), ``timeout`` (per request,
default 30 s), ``open_timeout`` (10 s), ``close_timeout`` (0.5 s, then the socket is
aborted), ``queue_size`` (1000 events per subscription), ``reconnect`` (True),
``reconnect_base_delay`` (0.05 s),
``reconnect_max_delay`` (5 s), ``max_reconnect_attempts`` (None = keep trying),
``heartbeat_interval`` (15 s), ``max_message_size`` (16 MiB), ``proxy`` (None).
"""

from __future__ import annotations

from .errors import map_websockets_error
from .subscription import WebSocketSubscription
from .transport import WebSocketTransport

__all__ = ["WebSocketSubscription", "WebSocketTransport", "map_websockets_error"]
