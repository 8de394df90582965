"""The node's WebSocket door, ``/v1/ws``.

Per connection: one reader, one writer draining a bounded outbound queue, a heartbeat
timer, one task per request and per subscription. Nothing a connection
does can block another: a message that does not fit its queue closes *that* connection
with 4008 "slow consumer" and the client resumes from its last seq.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from ...core.envelope import error_envelope
from ...core.streams import CLOSE_SLOW_CONSUMER, CLOSE_UNAUTHENTICATED, STREAM_GAP
from ..problems import NodeProblem
from ..services.principals import Principal, hash_key
from .authz import authorize_topic, topic_or_problem
from .dispatch import AppDoor, Envelope, EnvelopeError, reply_frame
from .hub import Feed, Frame, PositionNotInLog, StreamGap
from .service import Realtime

log = logging.getLogger("aitbc.node.realtime")

CLOSE_HEARTBEAT_TIMEOUT = 4002
#: A subscription could not continue (e.g. a failed read): reconnect and resume (RFC 6455
#: "try again later"; the SDK reconnects on every code but 4001 and resubscribes).
CLOSE_TRY_AGAIN = 1013


def _error(rid: Any, status: int, code: str, message: str, details: list[Any] | None = None) -> Any:
    body = error_envelope(code, message, f"ws_{rid}", details)
    return {"id": rid, "status": status, **body}


class WSConnection:
    """One accepted WebSocket: requests, subscriptions, heartbeats, slow-consumer cut-off."""

    def __init__(self, rt: Realtime, websocket: WebSocket) -> None:
        self.rt = rt
        self.websocket = websocket
        self.principal: Principal | None = None
        self.api_key: str | None = None
        self.door: AppDoor | None = None
        self.outbox: asyncio.Queue[str] = asyncio.Queue(rt.settings.outbound_queue)
        self.subscriptions: dict[str, asyncio.Task[None]] = {}
        self.requests: set[asyncio.Task[None]] = set()
        self.inflight = asyncio.Semaphore(rt.settings.max_inflight)
        self.closing: tuple[int, str] | None = None
        self.stopped = asyncio.Event()
        self.last_heard = asyncio.get_running_loop().time()
        self._beat_timer: asyncio.TimerHandle | None = None

    # -- lifecycle -----------------------------------------------------------------------

    async def serve(self) -> None:
        """Run until the peer leaves or the connection is killed; always cleans up."""
        self.rt.connections.add(self)
        tasks = [asyncio.create_task(self._read()), asyncio.create_task(self._write())]
        loop = asyncio.get_running_loop()
        self._beat_timer = loop.call_later(self.rt.settings.heartbeat_interval, self._beat)
        try:
            await self.stopped.wait()
        finally:
            self._beat_timer.cancel()
            self.rt.connections.discard(self)
            everything = [*tasks, *self.subscriptions.values(), *self.requests]
            for task in everything:
                task.cancel()
            await asyncio.gather(*everything, return_exceptions=True)
            await self._close()

    @property
    def key_hash(self) -> str | None:
        """The hash of the connection's API key (revocations are announced by hash)."""
        return hash_key(self.api_key) if self.api_key else None

    def kill(self, code: int, reason: str) -> None:
        """Close this connection with ``code`` (first reason wins); never blocks."""
        if self.closing is None:
            self.closing = (code, reason)
        self.stopped.set()

    async def _close(self) -> None:
        if self.websocket.application_state != WebSocketState.CONNECTED:
            return
        code, reason = self.closing or (1000, "")
        # A slow peer may not read the close frame either: bounded, then uvicorn aborts.
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1.0):
                await self.websocket.close(code, reason)

    def enqueue(self, message: Any) -> None:
        """Queue a control message from the reader (which must never wait); a full
        queue cuts the connection off as a slow consumer (4008)."""
        if self.closing is not None:
            return
        try:
            self.outbox.put_nowait(json.dumps(message, separators=(",", ":")))
        except asyncio.QueueFull:
            self._slow_consumer()

    async def put(self, message: Any) -> None:
        """Queue a message (a dict, or an already encoded frame) from a feed or request
        task, waiting up to the grace period for room; past it the connection is cut off
        as a slow consumer (4008)."""
        if self.closing is not None:
            return
        frame = message if isinstance(message, str) else json.dumps(message, separators=(",", ":"))
        try:
            self.outbox.put_nowait(frame)
            return
        except asyncio.QueueFull:
            pass
        try:
            async with asyncio.timeout(self.rt.settings.slow_consumer_grace):
                await self.outbox.put(frame)
        except TimeoutError:
            self._slow_consumer()

    def _slow_consumer(self) -> None:
        if self.closing is None:
            log.info("closing a slow WebSocket consumer")
            self.rt.slow_consumers_closed += 1
        self.kill(CLOSE_SLOW_CONSUMER, "slow consumer")

    async def _write(self) -> None:
        try:
            while True:
                await self.websocket.send_text(await self.outbox.get())
        except (WebSocketDisconnect, RuntimeError, OSError):
            self.stopped.set()

    def _beat(self) -> None:
        """Ping, or close a peer silent past the timeout (a timer, not a task: an idle
        connection should cost as little memory as possible)."""
        loop = asyncio.get_running_loop()
        if loop.time() - self.last_heard > self.rt.settings.heartbeat_timeout:
            self.kill(CLOSE_HEARTBEAT_TIMEOUT, "heartbeat timeout")
            return
        self.enqueue({"type": "ping", "ts": loop.time()})
        self._beat_timer = loop.call_later(self.rt.settings.heartbeat_interval, self._beat)

    # -- inbound -------------------------------------------------------------------------

    async def _read(self) -> None:
        try:
            while True:
                raw = await self.websocket.receive_text()
                self.last_heard = asyncio.get_running_loop().time()
                await self._handle(raw)
        except (WebSocketDisconnect, RuntimeError, KeyError):
            pass  # the peer left (KeyError: a binary frame where text was expected)
        finally:
            self.stopped.set()

    async def _handle(self, raw: str) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            self.enqueue(_error(None, 400, "bad_request", "frames must be JSON objects"))
            return
        if message.get("type") in ("pong", "ping"):
            if message["type"] == "ping":
                self.enqueue({"type": "pong", "ts": message.get("ts")})
            return
        rid, method = message.get("id"), str(message.get("method") or "").lower()
        if method == "auth":
            await self._auth(rid, message.get("data"))
        elif self.principal is None:
            self.enqueue(_error(rid, 401, "unauthenticated", "send an API key first"))
        elif method == "ping":
            self.enqueue({"id": rid, "status": 200, "data": {"pong": True}})
        elif method == "subscribe":
            self._subscribe(rid, message)
        elif method == "unsubscribe":
            self._unsubscribe(rid, message.get("data"))
        else:
            self._start_request(rid, message)

    async def _auth(self, rid: Any, data: Any) -> None:
        key = data.get("api_key") if isinstance(data, dict) else None
        principal = await self.rt.authenticate(key if isinstance(key, str) else None)
        if principal is None:
            self.enqueue(_error(rid, 401, "unauthenticated", "unknown API key"))
            return
        self.principal, self.api_key = principal, key
        self.door = None  # the next request opens a door with this key
        self.enqueue({"id": rid, "status": 200, "data": principal.wire()})

    # -- requests (the REST door, in process) --------------------------------------------

    def _start_request(self, rid: Any, message: dict[str, Any]) -> None:
        try:
            envelope = Envelope.parse(message)
        except EnvelopeError as exc:
            self.enqueue(_error(rid, 400, "bad_request", str(exc)))
            return
        if len(self.requests) >= 4 * self.rt.settings.max_inflight:
            # Bound the tasks one connection can park on the node, not only the running ones.
            self.enqueue(_error(rid, 429, "rate_limited", "too many requests in flight"))
            return
        task = asyncio.create_task(self._run_request(envelope))
        self.requests.add(task)
        task.add_done_callback(self.requests.discard)

    async def _run_request(self, envelope: Envelope) -> None:
        if self.door is None:
            self.door = AppDoor(self.websocket.app, self.websocket.scope, self.api_key)
        async with self.inflight:
            status, raw = await self.door.call(envelope)
        await self.put(reply_frame(envelope.id, status, raw))

    # -- subscriptions -------------------------------------------------------------------

    def _subscribe(self, rid: Any, message: dict[str, Any]) -> None:
        sid = str(rid or "")
        data = message.get("data") or {}
        resume = data.get("resume_from") if isinstance(data, dict) else None
        if not sid or sid in self.subscriptions:
            self.enqueue(_error(rid, 400, "bad_request", "subscribe needs a fresh, unique id"))
        elif resume is not None and (not isinstance(resume, int) or isinstance(resume, bool)):
            self.enqueue(_error(rid, 400, "bad_request", "resume_from must be an integer"))
        elif len(self.subscriptions) >= self.rt.settings.max_subscriptions:
            self.enqueue(_error(rid, 429, "rate_limited", "too many subscriptions"))
        else:
            topic = str(message.get("path") or "")
            task = asyncio.create_task(self._subscription(sid, topic, resume))
            self.subscriptions[sid] = task
            task.add_done_callback(lambda _t: self.subscriptions.pop(sid, None))

    def _unsubscribe(self, rid: Any, data: Any) -> None:
        sid = data.get("subscription_id") if isinstance(data, dict) else None
        task = self.subscriptions.pop(str(sid), None)
        if task is not None:
            task.cancel()
        self.enqueue({"id": rid, "status": 200, "data": {"unsubscribed": task is not None}})

    async def _subscription(self, sid: str, name: str, resume_from: int | None) -> None:
        assert self.principal is not None  # subscribe is refused before auth
        sink = _WSSink(self, sid)
        feed: Feed | None = None
        try:
            topic = topic_or_problem(name)
            await authorize_topic(self.rt.node, self.principal, topic)
            feed, head = await self.rt.hub.open(topic.name, resume_from, sink)
            # Queued before any event of this subscription can be (one FIFO queue).
            self.enqueue(
                {
                    "id": sid,
                    "status": 200,
                    "data": {
                        "subscription_id": sid,
                        "topic": topic.name,
                        "head_seq": head,
                        "resume_from": feed.cursor,
                    },
                }
            )
            error = await sink.ended
        except NodeProblem as problem:
            await self.put(_error(sid, problem.status, problem.code, problem.message))
            return
        except PositionNotInLog as exc:
            await self.put(_error(sid, 410, STREAM_GAP, str(exc)))
            return
        except Exception as exc:  # the head could not be read: resume later
            error = exc
        finally:
            if feed is not None:
                self.rt.hub.close(feed)
        if isinstance(error, StreamGap):
            await self.put(
                {
                    "subscription_id": sid,
                    "topic": name,
                    "status": 410,
                    **error_envelope(STREAM_GAP, str(error), f"ws_{sid}"),
                }
            )
        else:
            # Going silent would strand the client; a close makes the SDK resume every
            # subscription of this connection from its last seq.
            log.warning("subscription %s on %s interrupted: %r", sid, name, error)
            self.kill(CLOSE_TRY_AGAIN, "subscription interrupted; resume")


class _WSSink:
    """Delivers one subscription's frames into its connection's outbound queue."""

    __slots__ = ("connection", "ended", "prefix")

    def __init__(self, connection: WSConnection, sid: str) -> None:
        self.connection = connection
        self.prefix = '{"subscription_id":' + json.dumps(sid) + ","
        self.ended: asyncio.Future[Exception] = asyncio.get_running_loop().create_future()

    def _text(self, frame: Frame) -> str:
        return self.prefix + frame.body[1:]  # the shared body, minus its opening brace

    def offer(self, frame: Frame) -> bool:
        connection = self.connection
        if connection.closing is not None:
            return True  # going away: the client resumes from what it actually received
        try:
            connection.outbox.put_nowait(self._text(frame))
        except asyncio.QueueFull:
            return False
        return True

    async def put(self, frame: Frame) -> bool:
        await self.connection.put(self._text(frame))
        return self.connection.closing is None

    def end(self, error: Exception) -> None:
        if not self.ended.done():
            self.ended.set_result(error)


async def websocket_endpoint(rt: Realtime, websocket: WebSocket) -> None:
    """Accept, authenticate (``X-API-Key`` header, or an ``auth`` first message) and serve."""
    key = websocket.headers.get("x-api-key")
    principal = await rt.authenticate(key)
    if key and principal is None:
        await _deny(websocket)
        return
    await websocket.accept()
    connection = WSConnection(rt, websocket)
    connection.principal, connection.api_key = principal, key
    if principal is None:
        asyncio.get_running_loop().call_later(rt.settings.auth_timeout, _require_auth, connection)
    await connection.serve()


def _require_auth(connection: WSConnection) -> None:
    if connection.principal is None:
        connection.kill(CLOSE_UNAUTHENTICATED, "unauthenticated")


async def _deny(websocket: WebSocket) -> None:
    """Refuse the upgrade with 401 and the error envelope when the server allows it."""
    from starlette.responses import JSONResponse

    body = error_envelope("unauthenticated", "unknown API key", "ws_handshake")
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(JSONResponse(body, status_code=401))
    else:
        await websocket.close(CLOSE_UNAUTHENTICATED, "unauthenticated")
