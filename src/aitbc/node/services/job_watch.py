"""Follow one job's topic from inside the node, delivered by the realtime hub.

The hub (:mod:`aitbc.node.realtime.hub`) is what the WS and SSE doors subscribe through:
a commit in this process hands its records to the topic's channel, which offers them to
every subscriber without a read of the log; a subscription that starts behind (or falls
behind) catches up from the log. So ordering and gaplessness come from the log, and a
streamed token reaches the door as soon as the miner's post committed, never at a poll.

Commits of other workers reach the hub through Redis when it is configured; without it,
:func:`follow` asks the channel to check the log after every ``recheck`` seconds of
silence, so such a commit is seen that late, never lost.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncGenerator
from typing import Any, NamedTuple

from ..realtime.hub import EventHub, Frame, StreamGap

#: Frames one follower keeps unread before the hub makes it catch up from the log (its
#: consumer, an HTTP response, is not reading): bounded memory, nothing lost.
INBOX_FRAMES = 1024


class JobEvent(NamedTuple):
    """One committed event of the followed topic."""

    seq: int
    event: str
    data: Any


class _Inbox:
    """The hub's sink for one follower: a bounded buffer the follower drains in batches."""

    def __init__(self, limit: int = INBOX_FRAMES) -> None:
        self.frames: deque[Frame] = deque()
        self.limit = limit
        self.error: Exception | None = None
        self.arrived = asyncio.Event()
        self.room = asyncio.Event()

    def offer(self, frame: Frame) -> bool:
        if len(self.frames) >= self.limit:
            return False
        self.frames.append(frame)
        self.arrived.set()
        return True

    async def put(self, frame: Frame) -> bool:
        # Waits while the follower does not read (its response is back-pressured); the
        # follower's close cancels this wait.
        while len(self.frames) >= self.limit:
            self.room.clear()
            await self.room.wait()
        return self.offer(frame)

    def end(self, error: Exception) -> None:
        self.error = error
        self.arrived.set()

    async def take(self, wait: float) -> list[Frame]:
        """Every frame buffered now, waiting up to ``wait`` seconds for the first; an
        empty list after that silence."""
        if not self.frames and self.error is None:
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self.arrived.wait()
        batch = list(self.frames)
        self.frames.clear()
        self.room.set()
        return batch


def _event(frame: Frame) -> JobEvent:
    # The committed data itself (shared, read-only): no JSON is built or parsed for an
    # in-process follower.
    return JobEvent(frame.seq, frame.event, frame.data)


async def follow(
    hub: EventHub, topic: str, after_seq: int = 0, recheck: float = 0.5
) -> AsyncGenerator[list[JobEvent], None]:
    """Every event of ``topic`` after ``after_seq`` as committed, in seq order, in
    batches (what arrived together) until the caller stops.

    Raises StreamGap when the log cannot continue the topic from the cursor, and the
    read error when the topic's head cannot be read.
    """
    inbox = _Inbox()
    feed, _ = await hub.open(topic, after_seq, inbox)
    try:
        while True:
            frames = await inbox.take(recheck)
            if frames:
                events = [_event(f) for f in frames if f.seq > after_seq]
                if events:
                    after_seq = events[-1].seq
                    yield events
                continue
            if inbox.error is None:
                hub.notify(topic)  # silence: another worker may have committed; look
                continue
            if isinstance(inbox.error, StreamGap):
                raise inbox.error
            # A failed read ended the subscription: resume from what we delivered.
            hub.close(feed)
            inbox = _Inbox()
            feed, _ = await hub.open(topic, after_seq, inbox)
    finally:
        hub.close(feed)
