"""The realtime doors on raw ASGI, in front of the FastAPI router.

``/v1/ws`` and ``GET /v1/events`` hold a connection open for as long as a client stays:
thousands of them, mostly idle. Routed through FastAPI, each would keep the router's
frames, three exit stacks, an exception-handler wrapper and (for SSE) a streaming
response's task group alive for its whole life, some 15 KiB per subscriber. Served here,
below the node's request-context and rate-limit layers (request ids, metrics, limits
still apply) but above the router, a connection keeps only what it uses. Everything
else goes on to the app.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from ..routes import error_responses
from .service import Realtime
from .sse import sse_endpoint
from .ws import websocket_endpoint

WS_PATH = "/v1/ws"
SSE_PATH = "/v1/events"


class DoorRoute:
    """What ``scope["route"]`` names for a door (metrics label requests by route path)."""

    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path = path


_SSE_ROUTE = DoorRoute(SSE_PATH)


class RealtimeDoors:
    """ASGI middleware: serves the two realtime paths itself, passes the rest on."""

    def __init__(self, app: ASGIApp, rt: Realtime) -> None:
        self.app = app
        self.rt = rt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path")
        if path == SSE_PATH and scope["type"] == "http":
            scope["route"] = _SSE_ROUTE
            await sse_endpoint(self.rt, scope, receive, send)
        elif path == WS_PATH and scope["type"] == "websocket":
            await websocket_endpoint(self.rt, scope, receive, send)
        else:
            await self.app(scope, receive, send)


#: ``GET /v1/events`` in /openapi.json (the door is not a FastAPI route, so it is
#: described here, from what :func:`.sse.sse_endpoint` accepts and answers).
_EVENTS_OPERATION: dict[str, Any] = {
    "summary": "Server-Sent Events of one or more topics",
    "description": (
        "A `text/event-stream` of the events of every topic in `topics`: first "
        "`event: subscribed` with the starting positions, then one frame per event "
        "(`id: topic=seq,...`, `data: {topic, seq, event, data}`), `: ping` heartbeats, "
        "and a final `event: error` (`stream_gap`, `slow_consumer`, `interrupted`, "
        "`closed`) when the node ends the stream. Resume with `Last-Event-ID`."
    ),
    "operationId": "events_v1_events_get",
    "parameters": [
        {
            "name": "topics",
            "in": "query",
            "required": True,
            "description": "Comma-separated topics, e.g. `job:job_1,account:acc_2`",
            "schema": {"type": "string"},
        },
        {
            "name": "last_event_id",
            "in": "query",
            "required": False,
            "description": "Same as the `Last-Event-ID` header (for clients that cannot set it)",
            "schema": {"type": "string"},
        },
        {
            "name": "resume_from",
            "in": "query",
            "required": False,
            "description": "Start after this seq on every topic without a position",
            "schema": {"type": "integer", "minimum": 0},
        },
        {
            "name": "Last-Event-ID",
            "in": "header",
            "required": False,
            "description": "The `id` of the last event received: resume every topic there",
            "schema": {"type": "string"},
        },
    ],
    "responses": {
        "200": {
            "description": "The event stream",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        **error_responses(400, 401, 403, 404, 410, 413, 429, 500, 503),
    },
}


def document(app: FastAPI) -> None:
    """Add ``GET /v1/events`` to the app's OpenAPI document."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            schema["paths"][SSE_PATH] = {"get": _EVENTS_OPERATION}
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]
