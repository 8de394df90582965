"""The node's Server-Sent Events door, ``GET /v1/events?topics=a,b``.

Every event's SSE ``id`` encodes the position of *every* topic of the stream
(``job:job_1=5,marketplace=12``), so a reconnect with ``Last-Event-ID`` resumes each
topic exactly where it stopped. The first frame (``event: subscribed``) carries the
starting positions, so even a stream that saw no event yet resumes without loss.
A stream whose bounded queue overflows ends with ``event: error`` (``slow_consumer``);
the client reconnects from its last id.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from ...core.envelope import error_envelope
from ...core.streams import STREAM_GAP, Topic, decode_positions, encode_positions, encode_sse
from ...errors import ConfigurationError
from ..events import EventRecord
from ..problems import NodeProblem
from .authz import authorize_topic, topic_or_problem
from .hub import Feed, StreamGap
from .service import Realtime

_END = object()  # queue sentinel: the stream is over


class SSEStream:
    """One SSE response: feeds for its topics, a bounded queue, a heartbeat."""

    def __init__(self, rt: Realtime, positions: dict[str, int]) -> None:
        self.rt = rt
        self.positions = positions
        self.queue: asyncio.Queue[Any] = asyncio.Queue(rt.settings.outbound_queue)
        self.feeds = [Feed(topic, seq) for topic, seq in positions.items()]
        self.ending = False

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

    async def _deliver(self, record: EventRecord) -> None:
        if self.ending:
            return
        try:
            async with asyncio.timeout(self.rt.settings.slow_consumer_grace):
                await self.queue.put(record)
        except TimeoutError:
            self.rt.slow_consumers_closed += 1
            self._finish({"code": "slow_consumer", "message": "consumer too slow; resume"})

    async def _pump(self, feed: Feed) -> None:
        try:
            await feed.run(self.rt.read, self._deliver)
        except StreamGap as gap:
            self._finish({"code": STREAM_GAP, "message": str(gap), "topic": feed.topic})

    async def frames(self) -> AsyncIterator[bytes]:
        """The response body: hello frame, events, heartbeats; cleans up when left."""
        for feed in self.feeds:
            self.rt.hub.attach(feed)
        self.rt.connections.add(self)
        pumps = [asyncio.create_task(self._pump(feed)) for feed in self.feeds]
        try:
            hello = json.dumps({"positions": self.positions})
            yield encode_sse(
                hello, event="subscribed", id=encode_positions(self.positions), retry=1000
            )
            async for frame in self._drain():
                yield frame
        finally:
            self.rt.connections.discard(self)
            for feed in self.feeds:
                self.rt.hub.detach(feed)
            for pump in pumps:
                pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)

    async def _drain(self) -> AsyncIterator[bytes]:
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

    def _frame(self, record: EventRecord) -> bytes:
        self.positions[record.topic] = record.seq
        body = {
            "topic": record.topic,
            "seq": record.seq,
            "event": record.event,
            "data": record.data,
        }
        return encode_sse(json.dumps(body), event=record.event, id=encode_positions(self.positions))


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
    principal = await rt.authenticate(request.headers.get("x-api-key"))
    if principal is None:
        return _problem(NodeProblem(401, "unauthenticated", "missing or unknown API key"))
    try:
        names = request.query_params.get("topics", "")
        topics = [topic_or_problem(n) for n in dict.fromkeys(names.split(",")) if n]
        if not topics or len(topics) > rt.settings.max_subscriptions:
            limit = rt.settings.max_subscriptions
            raise NodeProblem(400, "bad_request", f"?topics= needs 1 to {limit} topics")
        for topic in topics:
            await authorize_topic(rt.node, principal, topic)
        positions = await _resolve(rt, _start_positions(request, topics))
    except NodeProblem as problem:
        return _problem(problem)
    stream = SSEStream(rt, positions)
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream.frames(), media_type="text/event-stream", headers=headers)


async def _resolve(rt: Realtime, wanted: dict[str, int | None]) -> dict[str, int]:
    """Fill "from now" topics with their head; refuse positions the log does not have."""
    positions: dict[str, int] = {}
    for topic, seq in wanted.items():
        head = await rt.head(topic)
        if seq is not None and seq > head:
            raise NodeProblem(
                410, STREAM_GAP, f"{topic}: seq {seq} is beyond the log (head {head})"
            )
        positions[topic] = head if seq is None else seq
    return positions
