"""The node's Server-Sent Events door, ``GET /v1/events?topics=a,b``.

Every event's SSE ``id`` encodes the position of *every* topic of the stream
(``job:job_1=5,marketplace=12``), so a reconnect with ``Last-Event-ID`` resumes each
topic exactly where it stopped. The first frame (``event: subscribed``) carries the
starting positions, so even a stream that saw no event yet resumes without loss.
A stream whose bounded queue overflows ends with ``event: error`` (``slow_consumer``);
one whose subscription cannot continue (a failed read) ends with ``interrupted``; the
client reconnects from its last id either way.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from ...core.envelope import error_envelope
from ...core.streams import STREAM_GAP, Topic, decode_positions, encode_positions, encode_sse
from ...errors import ConfigurationError
from ..problems import NodeProblem
from ..services.principals import hash_key
from .authz import authorize_topic, topic_or_problem
from .hub import Feed, Frame, PositionNotInLog, StreamGap
from .service import Realtime

log = logging.getLogger("aitbc.node.realtime")

_END = object()  # queue sentinel: the stream is over


class SSEStream:
    """One SSE response: a feed per topic into one bounded queue, and a heartbeat."""

    def __init__(self, rt: Realtime, key_hash: str | None = None) -> None:
        self.rt = rt
        #: The hash of the key the stream was opened with: a revocation ends the stream.
        self.key_hash = key_hash
        self.positions: dict[str, int] = {}
        self.queue: asyncio.Queue[Any] = asyncio.Queue(rt.settings.outbound_queue)
        self.feeds: list[Feed] = []
        self.ending = False

    async def open(self, wanted: dict[str, int | None]) -> None:
        """Subscribe every topic at its wanted position (None: from now).

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
            raise
        self.rt.connections.add(self)

    def close(self) -> None:
        """Stop every feed of the stream (idempotent)."""
        self.rt.connections.discard(self)
        for feed in self.feeds:
            self.rt.hub.close(feed)

    # -- Sink (called by the topic channels) ---------------------------------------------

    def offer(self, frame: Frame) -> bool:
        if self.ending:
            return True  # the client resumes from the last id it actually received
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            return False
        return True

    async def put(self, frame: Frame) -> bool:
        if self.ending:
            return False
        try:
            async with asyncio.timeout(self.rt.settings.slow_consumer_grace):
                await self.queue.put(frame)
        except TimeoutError:
            self.rt.slow_consumers_closed += 1
            self._finish({"code": "slow_consumer", "message": "consumer too slow; resume"})
            return False
        return True

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
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(("error", error))
        if not self.queue.full():
            self.queue.put_nowait(_END)

    # -- the response body ---------------------------------------------------------------

    async def frames(self) -> Any:
        """The response body: hello frame, events, heartbeats."""
        hello = json.dumps({"positions": self.positions})
        yield encode_sse(hello, event="subscribed", id=encode_positions(self.positions), retry=1000)
        interval = self.rt.settings.heartbeat_interval
        while True:
            try:
                async with asyncio.timeout(interval):
                    item = await self.queue.get()
            except TimeoutError:
                yield b": ping\n\n"
                continue
            if item is _END:
                return
            if isinstance(item, tuple):
                yield encode_sse(json.dumps({"error": item[1]}), event="error")
                return
            yield self._frame(item)

    def _frame(self, frame: Frame) -> bytes:
        self.positions[frame.topic] = frame.seq
        head = f"event: {frame.event}\nid: {encode_positions(self.positions)}\n"
        return head.encode() + frame.sse_data


class _SSEResponse(StreamingResponse):
    """A streaming response that closes its feeds however the response ends (even when
    the client left before the body started)."""

    def __init__(self, stream: SSEStream) -> None:
        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        super().__init__(stream.frames(), media_type="text/event-stream", headers=headers)
        self.stream = stream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.stream.close()


def _problem(problem: NodeProblem) -> Response:
    body = error_envelope(problem.code, problem.message, "sse", problem.details)
    return JSONResponse(body, status_code=problem.status)


def _start_positions(request: Request, topics: list[Topic]) -> dict[str, int | None]:
    raw = request.headers.get("last-event-id") or request.query_params.get("last_event_id", "")
    try:
        known = decode_positions(raw)
    except ConfigurationError as exc:
        raise NodeProblem(400, "bad_request", str(exc)) from exc
    fallback = request.query_params.get("resume_from")
    default = int(fallback) if fallback and fallback.isdigit() else known.get("*")
    return {t.name: known.get(t.name, default) for t in topics}


async def sse_endpoint(rt: Realtime, request: Request) -> Response:
    """``GET /v1/events``: authenticate, authorize every topic, then stream."""
    key = request.headers.get("x-api-key")
    principal = await rt.authenticate(key)
    if principal is None or key is None:
        return _problem(NodeProblem(401, "unauthenticated", "missing or unknown API key"))
    stream = SSEStream(rt, hash_key(key))
    try:
        names = request.query_params.get("topics", "")
        topics = [topic_or_problem(n) for n in dict.fromkeys(names.split(",")) if n]
        if not topics or len(topics) > rt.settings.max_subscriptions:
            limit = rt.settings.max_subscriptions
            raise NodeProblem(400, "bad_request", f"?topics= needs 1 to {limit} topics")
        for topic in topics:
            await authorize_topic(rt.node, principal, topic)
        await stream.open(_start_positions(request, topics))
    except NodeProblem as problem:
        return _problem(problem)
    except PositionNotInLog as exc:
        return _problem(NodeProblem(410, STREAM_GAP, str(exc)))
    return _SSEResponse(stream)
