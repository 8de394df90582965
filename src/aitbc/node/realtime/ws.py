"""The node's WebSocket door, ``/v1/ws``, served on raw ASGI (see :mod:`.doors`).

Per connection: the ASGI call itself reads; a writer task exists only while the bounded
outbox has something to send; a heartbeat timer; one task per request in flight and per
subscription being opened (an open subscription is just a feed of its topic's channel,
no task). Idle connections are what a node holds most of, so they hold as little as
possible. Nothing a connection does can block another: a message that does not fit its
outbox closes *that* connection with 4008 "slow consumer" and the client resumes from
its last seq.

Where the server offers it (:data:`~aitbc.node.ws_protocol.PREPARED_FRAMES`: uvicorn
through :class:`~aitbc.node.ws_protocol.PreparedFrameProtocol`, no permessage-deflate),
messages go out as frames the node built, written straight to the connection's
transport: an event's frame is built once for all its subscribers (:meth:`.Frame.ws_frame`)
instead of being framed again by the server for each. Otherwise each message is an ASGI
``websocket.send``. Either way one FIFO outbox orders them and the transport's write
buffer is the backpressure.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from starlette.types import Receive, Scope, Send

from ...core.envelope import error_envelope
from ...core.streams import CLOSE_SLOW_CONSUMER, CLOSE_UNAUTHENTICATED, STREAM_GAP
from ..problems import NodeProblem
from ..services.principals import Principal, hash_key
from ..ws_protocol import PREPARED_FRAMES, text_frame
from . import eager
from .authz import authorize_topic, topic_or_problem
from .dispatch import AppDoor, Envelope, EnvelopeError, reply_frame
from .hub import Feed, Frame, PositionNotInLog, StreamGap
from .outbox import Outbox
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

    def __init__(self, rt: Realtime, scope: Scope, send: Send) -> None:
        self.rt = rt
        self.scope = scope
        self._send = send
        self.principal: Principal | None = None
        self.api_key: str | None = None
        self.door: AppDoor | None = None
        #: Queued messages: whole frames (bytes) when the server takes prepared frames,
        #: else texts for ``websocket.send``.
        self.outbox: Outbox[str | bytes] = Outbox(rt.settings.outbound_queue)
        prepared = scope.get("extensions", {}).get(PREPARED_FRAMES)
        #: The server's prepared-frame writer, when it has one (see the module doc).
        self.write_frame: Callable[[bytes], bool] | None = None
        self._drained: Callable[[], Awaitable[Any]] | None = None
        if prepared is not None:
            self.write_frame, self._drained = prepared["write"], prepared["drained"]
        #: Open subscriptions by id: their sink once open, the opening task before.
        self.subscriptions: dict[str, _WSSink | asyncio.Task[None]] = {}
        self.requests: set[asyncio.Task[None]] = set()
        self.inflight: asyncio.Semaphore | None = None  # made at the first request
        self.closing: tuple[int, str] | None = None
        self.last_heard = asyncio.get_running_loop().time()
        self._writer: asyncio.Task[None] | None = None
        self._serving: asyncio.Task[Any] | None = None
        self._aborted = False
        self._beat_timer: asyncio.TimerHandle | None = None

    # -- lifecycle -----------------------------------------------------------------------

    async def serve(self, receive: Receive) -> None:
        """Read until the peer leaves or the connection is closed; always cleans up.

        Closing sends the close frame, after which the server hands this reader a
        disconnect; should that send hang (a peer that stopped reading), :meth:`_abort`
        cancels this call, which then ends quietly.
        """
        self._serving = asyncio.current_task()
        self.rt.connections.add(self)
        loop = asyncio.get_running_loop()
        self._beat_timer = loop.call_later(self.rt.settings.heartbeat_interval, self._beat)
        try:
            while True:
                message = await receive()
                if message["type"] != "websocket.receive":
                    break  # websocket.disconnect
                text = message.get("text")
                if text is None:
                    break  # a binary frame: not this protocol
                self.last_heard = loop.time()
                await self._handle(text)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if not self._aborted or task is None:
                raise
            task.uncancel()  # our own abort, not the server's shutdown
        finally:
            self._cleanup()

    def _cleanup(self) -> None:
        if self._beat_timer is not None:
            self._beat_timer.cancel()
        self.rt.connections.discard(self)
        self.closing = self.closing or (1000, "")
        self.outbox.clear()
        for entry in self.subscriptions.values():
            if isinstance(entry, _WSSink):
                if entry.feed is not None:
                    self.rt.hub.close(entry.feed)
            else:
                entry.cancel()
        self.subscriptions.clear()
        for task in self.requests:
            task.cancel()
        if self._writer is not None and self._writer is not asyncio.current_task():
            self._writer.cancel()

    @property
    def key_hash(self) -> str | None:
        """The hash of the connection's API key (revocations are announced by hash)."""
        return hash_key(self.api_key) if self.api_key else None

    def kill(self, code: int, reason: str) -> None:
        """Close this connection with ``code`` (first reason wins); never blocks.

        Whatever is still queued is dropped: the client resumes from what it received.
        """
        if self.closing is not None:
            return
        self.closing = (code, reason)
        self.outbox.clear()
        if self._writer is not None:
            self._writer.cancel()  # it may be stuck on a peer that stopped reading
        self._writer = asyncio.create_task(self._close(code, reason))

    async def _close(self, code: int, reason: str) -> None:
        try:
            # A slow peer may not read the close frame either: bounded, then abort.
            async with asyncio.timeout(1.0):
                await self._send({"type": "websocket.close", "code": code, "reason": reason})
        except (TimeoutError, OSError, RuntimeError):
            self._abort()

    def _abort(self) -> None:
        if self._serving is not None and not self._serving.done():
            self._aborted = True
            self._serving.cancel()

    def push(self, frame: str | bytes) -> bool:
        """Send or queue a message without waiting; False when the outbox is full.

        ``frame`` is the message's JSON text, or (only when :attr:`write_frame` is set)
        its whole WebSocket frame. With nothing queued and no writer, it goes out at once
        (eagerly: writing only has to wait while the peer's socket is full; then a
        writer task finishes it and drains whatever queues up meanwhile).
        """
        if self.closing is not None:
            return True  # going away: the client resumes from what it received
        frame = self._wire(frame)
        write = self.write_frame
        if self._writer is None and not len(self.outbox):
            rest: Coroutine[Any, Any, None] | None
            try:
                if write is not None:
                    assert isinstance(frame, bytes)
                    if write(frame):
                        return True
                    rest = self._write_frame(frame)  # the transport is paused
                else:
                    assert isinstance(frame, str)
                    rest = eager.start(self._send({"type": "websocket.send", "text": frame}))
            except (OSError, RuntimeError):
                self._lost()
                return True
            if rest is not None:
                self._writer = asyncio.create_task(self._write(rest))
            return True
        if not self.outbox.offer(frame):
            return False
        if self._writer is None:
            self._writer = asyncio.create_task(self._write())
        return True

    def _wire(self, frame: str | bytes) -> str | bytes:
        """A text as its prepared frame when the server takes those (then every message
        of the connection is one: the outbox holds one kind)."""
        if self.write_frame is not None and isinstance(frame, str):
            return text_frame(frame.encode())
        return frame

    def enqueue(self, message: Any) -> None:
        """Queue a control message from the reader (which must never wait); a full
        outbox cuts the connection off as a slow consumer (4008)."""
        if self.closing is None and not self.push(json.dumps(message, separators=(",", ":"))):
            self._slow_consumer()

    async def put(self, message: Any) -> None:
        """Queue a message (a dict, or an already encoded text or frame, see :meth:`push`)
        from a feed or request task, waiting up to the grace period for room; past it the
        connection is cut off as a slow consumer (4008)."""
        if self.closing is not None:
            return
        text = (
            message
            if isinstance(message, str | bytes)
            else json.dumps(message, separators=(",", ":"))
        )
        frame = self._wire(text)  # the outbox below takes the same kind push queues
        if self.push(frame):
            return
        if not await self.outbox.put(frame, self.rt.settings.slow_consumer_grace):
            self._slow_consumer()
        elif self._writer is None and self.closing is None:
            self._writer = asyncio.create_task(self._write())

    def _slow_consumer(self) -> None:
        if self.closing is None:
            log.info("closing a slow WebSocket consumer")
            self.rt.slow_consumers_closed += 1
        self.kill(CLOSE_SLOW_CONSUMER, "slow consumer")

    async def _write(self, unfinished: Coroutine[Any, Any, None] | None = None) -> None:
        """Finish a send that had to wait, send everything queued, then end (the next
        frame is sent eagerly again)."""
        try:
            if unfinished is not None:
                await unfinished
            while self.closing is None:
                frames = self.outbox.take()
                if not frames:
                    break
                for frame in frames:
                    if isinstance(frame, bytes):
                        await self._write_frame(frame)
                    else:
                        await self._send({"type": "websocket.send", "text": frame})
                    if self.closing is not None:
                        break
        except (OSError, RuntimeError):
            self._lost()
        finally:
            if self._writer is asyncio.current_task():
                self._writer = None

    async def _write_frame(self, frame: bytes) -> None:
        """Write a prepared frame, waiting while the transport is paused."""
        assert self.write_frame is not None and self._drained is not None
        while not self.write_frame(frame):
            await self._drained()

    def _lost(self) -> None:
        """A send failed: the peer is gone (the reader may not have noticed yet)."""
        self.closing = self.closing or (1006, "")
        self._abort()

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
            self.door = AppDoor(self.scope["app"], self.scope, self.api_key)
        if self.inflight is None:
            self.inflight = asyncio.Semaphore(self.rt.settings.max_inflight)
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
            self.subscriptions[sid] = asyncio.create_task(self._open(sid, topic, resume))

    def _unsubscribe(self, rid: Any, data: Any) -> None:
        sid = data.get("subscription_id") if isinstance(data, dict) else None
        entry = self.subscriptions.pop(str(sid), None)
        if isinstance(entry, _WSSink):
            if entry.feed is not None:
                self.rt.hub.close(entry.feed)
        elif entry is not None:
            entry.cancel()
        self.enqueue({"id": rid, "status": 200, "data": {"unsubscribed": entry is not None}})

    async def _open(self, sid: str, name: str, resume_from: int | None) -> None:
        """Authorize and open one subscription; afterwards its feed delivers, no task."""
        assert self.principal is not None  # subscribe is refused before auth
        sink = _WSSink(self, sid, name)
        try:
            topic = topic_or_problem(name)
            await authorize_topic(self.rt.node, self.principal, topic)
            feed, head = await self.rt.hub.open(topic.name, resume_from, sink)
        except NodeProblem as problem:
            self.subscriptions.pop(sid, None)
            await self.put(_error(sid, problem.status, problem.code, problem.message))
            return
        except PositionNotInLog as exc:
            self.subscriptions.pop(sid, None)
            await self.put(_error(sid, 410, STREAM_GAP, str(exc)))
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the head could not be read: resume later
            self.subscriptions.pop(sid, None)
            self._interrupted(sid, name, exc)
            return
        if self.subscriptions.get(sid) is not asyncio.current_task():
            self.rt.hub.close(feed)  # unsubscribed (or closed) while opening
            return
        sink.feed = feed
        self.subscriptions[sid] = sink
        # Queued before any event of this subscription can be (one FIFO outbox).
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

    def _ended(self, sink: _WSSink, error: Exception) -> None:
        """A subscription's feed cannot continue (its channel said why)."""
        if self.subscriptions.get(sink.sid) is not sink:
            return
        del self.subscriptions[sink.sid]
        if sink.feed is not None:
            self.rt.hub.close(sink.feed)
        if isinstance(error, StreamGap):
            frame = {
                "subscription_id": sink.sid,
                "topic": sink.name,
                "status": 410,
                **error_envelope(STREAM_GAP, str(error), f"ws_{sink.sid}"),
            }
            self.requests.add(task := asyncio.create_task(self.put(frame)))
            task.add_done_callback(self.requests.discard)
        else:
            self._interrupted(sink.sid, sink.name, error)

    def _interrupted(self, sid: str, name: str, error: Exception) -> None:
        # Going silent would strand the client; a close makes the SDK resume every
        # subscription of this connection from its last seq.
        log.warning("subscription %s on %s interrupted: %r", sid, name, error)
        self.kill(CLOSE_TRY_AGAIN, "subscription interrupted; resume")


class _WSSink:
    """Delivers one subscription's frames into its connection's outbox."""

    __slots__ = ("connection", "feed", "name", "prefix", "raw_prefix", "sid")

    def __init__(self, connection: WSConnection, sid: str, name: str) -> None:
        self.connection = connection
        self.sid = sid
        self.name = name
        self.feed: Feed | None = None
        self.prefix = '{"subscription_id":' + json.dumps(sid) + ","
        self.raw_prefix = self.prefix.encode()

    def _message(self, frame: Frame) -> str | bytes:
        """What the connection sends for ``frame``: its whole WebSocket frame (shared by
        every subscription with this id) when the server takes prepared frames, else
        the text."""
        if self.connection.write_frame is not None:
            return frame.ws_frame(self.raw_prefix)
        return self.prefix + frame.body[1:]  # the shared body, minus its opening brace

    def offer(self, frame: Frame) -> bool:
        return self.connection.push(self._message(frame))  # push drops it when closing

    async def put(self, frame: Frame) -> bool:
        await self.connection.put(self._message(frame))
        return self.connection.closing is None

    def end(self, error: Exception) -> None:
        self.connection._ended(self, error)


async def websocket_endpoint(rt: Realtime, scope: Scope, receive: Receive, send: Send) -> None:
    """Accept, authenticate (``X-API-Key`` header, or an ``auth`` first message) and serve."""
    if (await receive())["type"] != "websocket.connect":
        return
    key = _header(scope, b"x-api-key")
    principal = await rt.authenticate(key)
    if key and principal is None:
        await _deny(scope, send)
        return
    await send({"type": "websocket.accept"})
    connection = WSConnection(rt, scope, send)
    connection.principal, connection.api_key = principal, key
    if principal is None:
        asyncio.get_running_loop().call_later(rt.settings.auth_timeout, _require_auth, connection)
    await connection.serve(receive)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _require_auth(connection: WSConnection) -> None:
    if connection.principal is None:
        connection.kill(CLOSE_UNAUTHENTICATED, "unauthenticated")


async def _deny(scope: Scope, send: Send) -> None:
    """Refuse the upgrade with 401 and the error envelope when the server allows it."""
    if "websocket.http.response" not in scope.get("extensions", {}):
        await send({"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED})
        return
    body = json.dumps(error_envelope("unauthenticated", "unknown API key", "ws_handshake"))
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "websocket.http.response.start", "status": 401, "headers": headers})
    await send({"type": "websocket.http.response.body", "body": body.encode()})
