"""Realtime doors of the node: WebSocket ``/v1/ws`` and SSE ``/v1/events``.

Both read the event log (replay after ``resume_from`` / ``Last-Event-ID``, then live), so
ordering and gaplessness come from the database, never from the notification path. Local
commits wake subscribers directly; with ``redis_url`` set, other workers' commits arrive
through Redis pub/sub. Call :func:`install` once from the app factory.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, FastAPI, Request, WebSocket
from starlette.responses import Response

from ...core.streams import CLOSE_SERVER_KICK
from ..auth import AdminDep
from ..runtime import Node
from .service import Realtime, RealtimeSettings
from .sse import sse_endpoint
from .ws import websocket_endpoint

__all__ = ["Realtime", "RealtimeSettings", "install"]


def _router(rt: Realtime) -> APIRouter:
    router = APIRouter()

    @router.websocket("/v1/ws")
    async def ws(websocket: WebSocket) -> None:
        await websocket_endpoint(rt, websocket)

    @router.get("/v1/events", response_model=None)
    async def events(request: Request) -> Response:
        return await sse_endpoint(rt, request)

    @router.post("/v1/admin/realtime/kick")
    async def kick(_: AdminDep) -> dict[str, Any]:
        """Drop every WS connection and SSE stream of this worker (clients resume)."""
        return {"closed": rt.kick_all(CLOSE_SERVER_KICK, "closed by an operator")}

    return router


def install(app: FastAPI, node: Node, settings: RealtimeSettings | None = None) -> Realtime:
    """Mount the realtime routes on ``app`` and tie their lifetime to the app's lifespan.

    ``settings`` default to :meth:`RealtimeSettings.from_env` (``AITBC_REALTIME_*``).

    Returns the :class:`Realtime` (also at ``app.state.realtime``).
    """
    rt = Realtime(node, settings or RealtimeSettings.from_env())
    app.state.realtime = rt
    app.include_router(_router(rt))
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
