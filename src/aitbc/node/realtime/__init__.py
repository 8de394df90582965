"""Realtime doors of the node: WebSocket ``/v1/ws`` and SSE ``/v1/events``.

Both read the event log (replay after ``resume_from`` / ``Last-Event-ID``, then live), so
ordering and gaplessness come from the database, never from the notification path. Local
commits hand their records to the topic's channel; with ``redis_url`` set, other
workers' commits arrive through Redis pub/sub as "read the log" notifications.
Call :func:`install` once from the app factory.

WebSocket protocol (JSON text frames):

* Auth: ``X-API-Key`` on the upgrade (an unknown key is refused with HTTP 401 and the
  error envelope), or a first message ``{"id", "method": "auth", "data": {"api_key"}}``
  (without it the node closes with 4001 after ``auth_timeout``).
* Request ``{"id", "method", "path", "data"?, "params"?, "headers"?}`` → ``{"id",
  "status", "data"}`` or ``{"id", "status", "error": {code, message, request_id,
  details}}``; it runs through the REST app itself (same auth, validation, services).
  ``headers`` may carry ``Idempotency-Key`` / ``X-Request-ID`` only.
* Subscribe ``{"id", "method": "subscribe", "path": <topic>, "data": {"resume_from"?}}``
  → ``{"id", "status": 200, "data": {"subscription_id": id, "topic", "head_seq",
  "resume_from"}}``, always before the first event; then events ``{"subscription_id",
  "topic", "seq", "event", "data"}``. Without ``resume_from`` the stream starts at
  ``head_seq``. Errors: 400 bad topic, 403/404 not yours, 410 ``stream_gap`` (position
  not in the log). A gap discovered later arrives as ``{"subscription_id", "status":
  410, "error": {"code": "stream_gap"}}`` and ends that subscription.
* Unsubscribe ``{"id", "method": "unsubscribe", "data": {"subscription_id"}}``.
* Heartbeats: the node sends ``{"type": "ping", "ts"}`` every ``heartbeat_interval``; any
  client frame (e.g. ``{"type": "pong"}``) proves liveness, silence past
  ``heartbeat_timeout`` closes with 4002. ``{"id", "method": "ping"}`` is answered.
* Close codes: 4001 unauthenticated, 4002 heartbeat timeout, 4008 slow consumer, 4010
  dropped by an operator (``POST /v1/admin/realtime/kick``), 1013 a subscription could
  not continue (a failed log read: resume), 1001 node shutting down.

SSE: ``GET /v1/events?topics=a,b`` (``X-API-Key``); resume with ``Last-Event-ID`` (or
``?last_event_id=``; ``?resume_from=N`` for every topic without a position). Frames:
``event: subscribed`` with the starting positions as its id, then one frame per event
(``event: <name>``, ``id: topic=seq,...``, ``data: {"topic","seq","event","data"}``),
``: ping`` comments as heartbeats, and a final ``event: error`` (``stream_gap``,
``slow_consumer``, ``interrupted`` or ``closed``) when the node ends the stream.

Fan-out (:mod:`.hub`): one delivery task per topic serialises each event once and offers
it to every subscriber without waiting; live catch-up reads are shared by a topic's
subscribers and run on the read path. Both doors are raw ASGI (:mod:`.doors`), so an idle
subscriber holds only its socket, a bounded :class:`~.outbox.Outbox` and a timer; a frame
is sent in the offering call itself (:mod:`.eager`) unless its peer's socket is full. A
WebSocket event's whole frame is built once for all its subscribers and written straight
to each transport (:mod:`aitbc.node.ws_protocol`), not framed again per connection.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, FastAPI, Request

from ...core.streams import CLOSE_SERVER_KICK
from ..auth import AdminDep
from ..runtime import Node
from ..services import audit
from .doors import RealtimeDoors, document
from .service import Realtime, RealtimeSettings

__all__ = ["Realtime", "RealtimeSettings", "install"]


# A module-level endpoint that finds the Realtime through the app: FastAPI caches facts
# about each endpoint callable in process-wide LRU caches, so an endpoint closing over
# ``rt`` would keep every stopped node (engines, event loop, pools) alive in a process
# that builds many apps (the test suite, embedded nodes).
router = APIRouter()


@router.post("/v1/admin/realtime/kick")
async def kick(request: Request, admin: AdminDep) -> dict[str, Any]:
    """Drop every WS connection and SSE stream of this worker (clients resume).

    Call it over HTTP: asked over a WebSocket, that socket is dropped too and the
    answer may not make it out. The kick is written to the audit log.
    """
    rt: Realtime = request.app.state.realtime
    closed = rt.kick_all(CLOSE_SERVER_KICK, "closed by an operator")
    await rt.node.write(
        lambda tx: audit.record(tx, admin.id, "realtime.kick", "realtime", closed=closed)
    )
    return {"closed": closed}


def install(app: FastAPI, node: Node, settings: RealtimeSettings | None = None) -> Realtime:
    """Mount the realtime doors (:mod:`.doors`) and the kick route on ``app``, and tie
    their lifetime to the app's lifespan. Call it before the node's outer middleware is
    added, so requests reach the doors through it.

    ``settings`` default to :meth:`RealtimeSettings.from_env` (``AITBC_REALTIME_*``).

    Returns the :class:`Realtime` (also at ``app.state.realtime``).
    """
    rt = Realtime(node, settings or RealtimeSettings.from_env())
    app.state.realtime = rt
    app.include_router(router)
    app.add_middleware(RealtimeDoors, rt=rt)
    document(app)
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app_: Any) -> AsyncIterator[Any]:
        async with inner(app_) as state:
            await rt.start()
            try:
                yield state
            finally:
                await rt.stop()

    app.router.lifespan_context = lifespan
    return rt
