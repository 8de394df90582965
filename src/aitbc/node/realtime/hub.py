"""The per-process event hub: wakes subscriptions when their topic has news.

Ordering and gaplessness come from the event log, never from notifications: a woken
:class:`Feed` reads its topic's log after its cursor. Notifications only say "look now".
A local commit hands its records along as a hint so the common case needs no query;
a notification from another worker (Redis) carries only topic and seq.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol

from ..events import EventRecord

log = logging.getLogger("aitbc.node.realtime")

#: Reads up to a batch of a topic's events after a seq (oldest first).
LogReader = Callable[[str, int], Awaitable[list[EventRecord]]]

#: Events read from the log per query; a shorter answer means "caught up".
READ_BATCH = 500
#: How many hinted records a feed keeps before falling back to reading the log.
_MAX_HINTS = 1000


class StreamGap(Exception):
    """The log cannot continue this feed from its cursor (history pruned or reset)."""

    def __init__(self, topic: str, cursor: int, first_seq: int | None) -> None:
        where = "the log has nothing" if first_seq is None else f"the log resumes at {first_seq}"
        super().__init__(f"{topic}: cannot replay after seq {cursor}; {where}")
        self.topic = topic
        self.cursor = cursor


class Sink(Protocol):
    """Where a feed delivers; may wait briefly for room (a bounded queue)."""

    def __call__(self, record: EventRecord) -> Awaitable[None]: ...


class Feed:
    """One subscriber's view of one topic: a cursor plus a wake-up flag."""

    def __init__(self, topic: str, cursor: int) -> None:
        self.topic = topic
        self.cursor = cursor
        self._hints: list[EventRecord] = []
        self._wake = asyncio.Event()
        self._wake.set()  # the first pass replays whatever is after the cursor

    def poke(self, records: Iterable[EventRecord] = ()) -> None:
        """Wake the feed, optionally with freshly committed records of its topic."""
        self._hints.extend(records)
        if len(self._hints) > _MAX_HINTS:
            self._hints.clear()  # the log has them all; reading it is cheaper than memory
        self._wake.set()

    def _take_hints(self) -> list[EventRecord]:
        fresh = sorted((r for r in self._hints if r.seq > self.cursor), key=lambda r: r.seq)
        self._hints.clear()
        expected = self.cursor + 1
        for offset, record in enumerate(fresh):
            if record.seq != expected + offset:
                return []  # not contiguous: someone else's commit is in between
        return fresh

    async def _deliver(self, batch: list[EventRecord], deliver: Sink) -> None:
        for record in batch:
            await deliver(record)
            self.cursor = record.seq

    async def _catch_up(self, read: LogReader, deliver: Sink) -> None:
        while True:
            batch = await read(self.topic, self.cursor)
            if batch and batch[0].seq != self.cursor + 1:
                raise StreamGap(self.topic, self.cursor, batch[0].seq)
            await self._deliver(batch, deliver)
            if len(batch) < READ_BATCH:
                return

    async def run(self, read: LogReader, deliver: Sink) -> None:
        """Deliver every event after the cursor, in order, forever (cancel to stop).

        Raises StreamGap when the log skips seqs, and whatever ``deliver`` raises.
        """
        while True:
            await self._wake.wait()
            self._wake.clear()
            hinted = self._take_hints()
            if hinted:
                # Contiguous from the cursor: nothing older is missing, newer ones poke again.
                await self._deliver(hinted, deliver)
            else:
                await self._catch_up(read, deliver)


class EventHub:
    """Which feeds in this process watch which topic; ``publish`` wakes them."""

    def __init__(self) -> None:
        self._feeds: dict[str, set[Feed]] = {}

    def attach(self, feed: Feed) -> None:
        """Start waking ``feed`` for its topic."""
        self._feeds.setdefault(feed.topic, set()).add(feed)

    def detach(self, feed: Feed) -> None:
        """Stop waking ``feed`` (idempotent)."""
        feeds = self._feeds.get(feed.topic)
        if feeds is not None:
            feeds.discard(feed)
            if not feeds:
                del self._feeds[feed.topic]

    def publish(self, records: list[EventRecord]) -> None:
        """Wake the feeds of every topic in ``records`` (a local commit)."""
        by_topic: dict[str, list[EventRecord]] = {}
        for record in records:
            by_topic.setdefault(record.topic, []).append(record)
        for topic, batch in by_topic.items():
            for feed in self._feeds.get(topic, ()):
                feed.poke(batch)

    def notify(self, topic: str) -> None:
        """Wake the feeds of ``topic`` without records (another worker committed)."""
        for feed in self._feeds.get(topic, ()):
            feed.poke()

    def poke_all(self) -> None:
        """Wake every feed: after notifications may have been lost (Redis reconnect)."""
        for feeds in self._feeds.values():
            for feed in feeds:
                feed.poke()

    @property
    def topics(self) -> list[str]:
        """Topics with at least one feed in this process."""
        return list(self._feeds)
