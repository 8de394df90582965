"""One logical subscription: its position, bounded buffer and async iterator.

The state survives reconnects: the transport resubscribes it from ``sequencer.last_seq``
and drops replayed duplicates, so the iterator yields each event exactly once, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import Protocol

from ...core.streams import Sequencer, Verdict
from ...errors import AITBCError
from ..base import JSONDict
from .errors import gap_error

__all__ = ["SubscriptionState", "WebSocketSubscription"]


class _Owner(Protocol):
    """What a subscription needs from its transport."""

    async def _start(self, sub: SubscriptionState) -> None: ...

    async def _subscribe(self, sub: SubscriptionState) -> None: ...

    def _forget(self, sub: SubscriptionState) -> None: ...


class SubscriptionState:
    """Client-side state of one logical subscription (survives reconnects)."""

    def __init__(self, topic: str, resume_from: int | None, size: int) -> None:
        self.topic = topic
        self.sequencer = Sequencer(topic, resume_from or 0)
        self.positioned = resume_from is not None  # False until the node tells us "now"
        self.buffer: deque[JSONDict] = deque()
        self.size = size
        self.server_id: str | None = None
        self.overflowed = False
        self.error: BaseException | None = None
        self.closed = False
        self.wakeup = asyncio.Event()

    def resume_data(self) -> JSONDict:
        """The subscribe ``data``: resume after the last buffered seq, or "from now"."""
        return {"resume_from": self.sequencer.last_seq} if self.positioned else {}

    def fail(self, error: BaseException) -> None:
        """End the subscription with ``error`` (first one wins); wakes the consumer."""
        if self.error is None:
            self.error = error
        self.wakeup.set()

    def offer(self, seq: int, message: JSONDict) -> bool:
        """Judge one event: buffer it, drop a duplicate, or fail on a gap.

        Returns False (and marks the subscription overflowed) when the buffer is full:
        the caller stops the node side; :meth:`next` resubscribes once drained.
        """
        verdict = self.sequencer.judge(seq)
        if verdict is Verdict.DUPLICATE:
            return True
        if verdict is Verdict.GAP:
            self.fail(gap_error(self.topic, self.sequencer.last_seq, None))
            return True
        if len(self.buffer) >= self.size:
            self.overflowed = True
            return False
        self.sequencer.advance(seq)
        self.buffer.append(
            {
                "topic": message.get("topic", self.topic),
                "seq": seq,
                "event": message.get("event"),
                "data": message.get("data"),
            }
        )
        self.wakeup.set()
        return True

    async def next(self, resubscribe: Callable[[SubscriptionState], Awaitable[None]]) -> JSONDict:
        """The next buffered event; waits for one. Raises the subscription's error,
        StopAsyncIteration once closed; after an overflow, resubscribes when drained."""
        while True:
            if self.buffer:
                return self.buffer.popleft()
            if self.error is not None:
                raise self.error
            if self.closed:
                raise StopAsyncIteration
            if self.overflowed:
                self.overflowed = False
                await resubscribe(self)  # lossless: resume after the last buffered seq
                continue
            self.wakeup.clear()
            await self.wakeup.wait()


class WebSocketSubscription(AsyncIterator[JSONDict]):
    """An async iterator over one topic's events (what ``stream()`` returns).

    ``async for event in sub`` yields ``{"topic", "seq", "event", "data"}`` exactly once
    each, in seq order, across reconnects. Raises StreamGapError when the node cannot
    replay, PermissionDeniedError for a topic this key may not read, TransportClosedError
    after ``disconnect()``. ``aclose()`` (or leaving ``async with``) unsubscribes.
    """

    def __init__(self, transport: _Owner, sub: SubscriptionState) -> None:
        self._transport = transport
        self._sub = sub
        self._started = False

    @property
    def topic(self) -> str:
        """The subscribed topic."""
        return self._sub.topic

    @property
    def last_seq(self) -> int:
        """Seq of the last event handed to the buffer (resume point after a restart)."""
        return self._sub.sequencer.last_seq

    async def start(self) -> WebSocketSubscription:
        """Subscribe now (idempotent), so events from this moment on are captured."""
        if not self._started:
            self._started = True
            await self._transport._start(self._sub)
        return self

    def __aiter__(self) -> WebSocketSubscription:
        return self

    async def __anext__(self) -> JSONDict:
        await self.start()
        try:
            return await self._sub.next(self._transport._subscribe)
        except AITBCError:
            self._transport._forget(self._sub)  # the subscription is over for good
            raise

    async def aclose(self) -> None:
        """Unsubscribe and end the iteration (idempotent, never blocks on the network)."""
        self._transport._forget(self._sub)
        self._sub.wakeup.set()

    async def __aenter__(self) -> WebSocketSubscription:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __del__(self) -> None:
        # Leaving ``async for`` with ``break`` never calls aclose(): clean up locally.
        if not self._sub.closed:
            with contextlib.suppress(RuntimeError):  # no running loop at interpreter exit
                self._transport._forget(self._sub)
