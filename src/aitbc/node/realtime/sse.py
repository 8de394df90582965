"""The node's Server-Sent Events door, ``GET /v1/events?topics=a,b``.

Every event's SSE ``id`` encodes the position of *every* topic of the stream
(``job:job_1=5,marketplace=12``), so a reconnect with ``Last-Event-ID`` resumes each
topic exactly where it stopped. The first frame (``event: subscribed``) carries the
starting positions, so even a stream that saw no event yet resumes without loss.
A stream whose bounded queue overflows ends with ``event: error`` (``slow_consumer``);
one whose subscription cannot continue (a failed read) ends with ``interrupted``; the
client reconnects from its last id either way.

Served on raw ASGI (see :mod:`.doors`): per stream, the ASGI call waits for the end, one
task watches for the client leaving, and a writer task exists only while something is
queued (everything queued goes out as one chunk).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Coroutine
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import Receive, Scope, Send

from ...core.envelope import error_envelope
from ...core.streams import STREAM_GAP, Topic, decode_positions, encode_positions, encode_sse
from ...errors import ConfigurationError
from ..problems import NodeProblem
from ..services.principals import hash_key
from . import eager
from .authz import authorize_topic, topic_or_problem
from .hub import Feed, Frame, PositionNotInLog, StreamGap
from .outbox import Outbox
from .service import Realtime

log = logging.getLogger("aitbc.node.realtime")

_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"x-accel-buffering", b"no"),
]
_PING = b": ping\n\n"


class SSEStream:
    """One SSE response: a feed per topic into one bounded outbox, and a heartbeat."""

    def __init__(self, rt: Realtime, send: Send, key_hash: str | None = None) -> None:
        self.rt = rt
        self._send = send
        #: The hash of the key the stream was opened with: a revocation ends the stream.
        self.key_hash = key_hash
        self.positions: dict[str, int] = {}
        self.outbox: Outbox[bytes] = Outbox(rt.settings.outbound_queue)
        self.feeds: list[Feed] = []
        self.ending = False
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        #: Set once the hello is queued: a feed that opened earlier (and is catching up)
        #: waits for it, so the hello is the first frame and names every topic.
        self._opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._started = False
        self._final = False  # the last frame is queued: end the body after it
        self._writer: asyncio.Task[None] | None = None
        self._beat_timer: asyncio.TimerHandle | None = None

    async def open(self, wanted: dict[str, int | None]) -> None:
        """Subscribe every topic at its wanted position (None: from now), then queue the
        ``subscribed`` frame ahead of any event.

        Raises PositionNotInLog (after closing what was opened) for a position the log
        does not have, and the read error when a head cannot be read.
        """
        try:
            for topic, seq in wanted.items():
                feed, _ = await self.rt.hub.open(topic, seq, self)
                self.feeds.append(feed)
                self.positions[topic] = feed.cursor
        except BaseException:
            self.close()
            self._opened.set_result(None)
            raise
        hello = json.dumps({"positions": self.positions})
        self.outbox.offer(
            encode_sse(hello, event="subscribed", id=encode_positions(self.positions), retry=1000)
        )
        self._opened.set_result(None)
        self.rt.connections.add(self)

    def close(self) -> None:
        """Stop every feed and timer of the stream (idempotent)."""
        self.ending = True
        self.rt.connections.discard(self)
        for feed in self.feeds:
            self.rt.hub.close(feed)
        if self._beat_timer is not None:
            self._beat_timer.cancel()
        if self._writer is not None and self._writer is not asyncio.current_task():
            self._writer.cancel()

    async def serve(self, receive: Receive) -> None:
        """Send the response until it ends or the client leaves."""
        watcher: asyncio.Task[None] | None = None
        try:
            await self._send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
            self._started = True
            self._kick()
            loop = asyncio.get_running_loop()
            self._beat_timer = loop.call_later(self.rt.settings.heartbeat_interval, self._beat)
            watcher = asyncio.create_task(self._watch(receive))
            await self.done
        except OSError:
            pass  # the client left before the response started
        finally:
            if watcher is not None:
                watcher.cancel()
            self.close()

    async def _watch(self, receive: Receive) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        self.ending = True
        self._resolve()

    def _resolve(self) -> None:
        if not self.done.done():
            self.done.set_result(None)

    def _beat(self) -> None:
        if self.ending:
            return
        self._push(_PING)  # a full outbox has traffic enough: no ping needed then
        self._beat_timer = asyncio.get_running_loop().call_later(
            self.rt.settings.heartbeat_interval, self._beat
        )

    def _push(self, chunk: bytes) -> bool:
        """Send or queue ``chunk``; False when the outbox is full. With nothing queued
        and no writer, it goes out at once (see :mod:`.eager`)."""
        if self._started and self._writer is None and not len(self.outbox):
            body = {"type": "http.response.body", "body": chunk, "more_body": True}
            try:
                rest = eager.start(self._send(body))
            except OSError:  # the client is gone
                self._resolve()
                return True
            if rest is not None:
                self._writer = asyncio.create_task(self._write(rest))
            return True
        if not self.outbox.offer(chunk):
            return False
        self._kick()
        return True

    def _kick(self) -> None:
        if self._started and self._writer is None and len(self.outbox):
            self._writer = asyncio.create_task(self._write())

    async def _write(self, unfinished: Coroutine[Any, Any, None] | None = None) -> None:
        """Finish a send that had to wait, then send everything queued as one chunk,
        until nothing is; after the final frame, end the response."""
        try:
            if unfinished is not None:
                await unfinished
            while chunks := self.outbox.take():
                body = b"".join(chunks)
                await self._send({"type": "http.response.body", "body": body, "more_body": True})
            if self._final:
                await self._send({"type": "http.response.body", "body": b""})
                self._resolve()
        except OSError:  # the client is gone
            self._resolve()
        finally:
            if self._writer is asyncio.current_task():
                self._writer = None

    # -- Sink (called by the topic channels) ---------------------------------------------

    def _frame(self, frame: Frame) -> bytes:
        self.positions[frame.topic] = frame.seq
        head = f"event: {frame.event}\nid: {encode_positions(self.positions)}\n"
        return head.encode() + frame.sse_data

    def offer(self, frame: Frame) -> bool:
        if self.ending:
            return True  # the client resumes from the last id it actually received
        if not self._opened.done() or len(self.outbox) >= self.outbox.limit:
            return False
        return self._push(self._frame(frame))

    async def put(self, frame: Frame) -> bool:
        await self._opened
        if self.ending:
            return False
        if self.offer(frame):
            return True
        # Positions advance only once the frame is queued: encode after waiting.
        if not await self.outbox.room(self.rt.settings.slow_consumer_grace):
            self.rt.slow_consumers_closed += 1
            self._finish({"code": "slow_consumer", "message": "consumer too slow; resume"})
            return False
        return self.offer(frame) and not self.ending

    def end(self, error: Exception) -> None:
        if isinstance(error, StreamGap):
            self._finish({"code": STREAM_GAP, "message": str(error), "topic": error.topic})
        else:
            log.warning("SSE stream interrupted: %r", error)
            self._finish({"code": "interrupted", "message": "stream interrupted; resume"})

    def kill(self, code: int, reason: str) -> None:
        """End the stream with an error event (``code`` is kept for symmetry with WS)."""
        self._finish({"code": "closed", "message": reason, "close_code": code})

    def _finish(self, error: dict[str, Any]) -> None:
        if self.ending:
            return
        self.ending = True
        # Drop every queued event (never only the oldest: that would reorder) so the final
        # frame fits; the client resumes from the last id it actually received.
        self.outbox.clear()
        if self._writer is not None:
            self._writer.cancel()  # it may be stuck on a client that stopped reading
            self._writer = None
        self.outbox.offer(encode_sse(json.dumps({"error": error}), event="error"))
        self._final = True
        if self._started:
            self._writer = asyncio.create_task(self._write_final())

    async def _write_final(self) -> None:
        try:
            async with asyncio.timeout(1.0):  # bounded: a client that stopped reading
                await self._write()
        except TimeoutError:
            pass
        finally:
            self._resolve()


def _problem_message(problem: NodeProblem) -> tuple[int, bytes]:
    body = error_envelope(problem.code, problem.message, "sse", problem.details)
    return problem.status, json.dumps(body).encode()


async def _reply(
    send: Send, status: int, body: bytes, headers: dict[str, str] | None = None
) -> None:
    raw = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def _start_positions(
    headers: dict[bytes, bytes], query: dict[str, str], topics: list[Topic]
) -> dict[str, int | None]:
    raw = headers.get(b"last-event-id", b"").decode("latin-1") or query.get("last_event_id", "")
    try:
        known = decode_positions(raw)
    except ConfigurationError as exc:
        raise NodeProblem(400, "bad_request", str(exc)) from exc
    fallback = query.get("resume_from")
    default = int(fallback) if fallback and fallback.isdigit() else known.get("*")
    return {t.name: known.get(t.name, default) for t in topics}


async def sse_endpoint(rt: Realtime, scope: Scope, receive: Receive, send: Send) -> None:
    """``GET /v1/events``: authenticate, authorize every topic, then stream."""
    if scope["method"] != "GET":
        problem = NodeProblem(405, "method_not_allowed", "Method Not Allowed")
        await _reply(send, *_problem_message(problem), headers={"Allow": "GET"})
        return
    headers = dict(scope.get("headers", ()))
    raw_query = scope.get("query_string", b"").decode("latin-1")
    query = dict(parse_qsl(raw_query, keep_blank_values=True))
    key = headers.get(b"x-api-key", b"").decode("latin-1") or None
    principal = await rt.authenticate(key)
    if principal is None or key is None:
        problem = NodeProblem(401, "unauthenticated", "missing or unknown API key")
        await _reply(send, *_problem_message(problem))
        return
    stream = SSEStream(rt, send, hash_key(key))
    try:
        names = query.get("topics", "")
        topics = [topic_or_problem(n) for n in dict.fromkeys(names.split(",")) if n]
        if not topics or len(topics) > rt.settings.max_subscriptions:
            limit = rt.settings.max_subscriptions
            raise NodeProblem(400, "bad_request", f"?topics= needs 1 to {limit} topics")
        for topic in topics:
            await authorize_topic(rt.node, principal, topic)
        await stream.open(_start_positions(headers, query, topics))
    except NodeProblem as problem:
        await _reply(send, *_problem_message(problem))
        return
    except PositionNotInLog as exc:
        await _reply(send, *_problem_message(NodeProblem(410, STREAM_GAP, str(exc))))
        return
    await stream.serve(receive)
