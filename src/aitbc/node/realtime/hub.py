"""The per-process event hub: one delivery task per topic, shared by all its subscribers.

Ordering and gaplessness come from the event log, never from notifications. Each topic
with subscribers in this process has a :class:`TopicChannel`: it knows the topic's head,
keeps the newest events (serialised once, as :class:`Frame`) in a small ring, and is the
only reader of the log for live events. A commit only hands its records to the channel
and sets a flag (:meth:`EventHub.publish` is O(topics), never O(subscribers)); the
channel's task then offers each frame to every live subscriber without waiting
(``Sink.offer``: a bounded queue's ``put_nowait``).

A subscriber that is behind (it resumed from an older seq, or its queue was full) leaves
the live set and catches up in its own task: from the ring when it covers the gap,
otherwise from the log in batches, waiting for room as long as its sink allows
(``Sink.put``); once at the head it is live again. A subscription that cannot continue
ends through ``Sink.end``: :class:`StreamGap` when the log lacks its next seq, any other
exception (a failed read) when it should simply resume from its last seq.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol

from ..events import EventRecord
from ..ws_protocol import text_frame_header

log = logging.getLogger("aitbc.node.realtime")

#: Reads up to a batch of a topic's events after a seq (oldest first).
LogReader = Callable[[str, int], Awaitable[list[EventRecord]]]
#: Reads a topic's newest seq (0 when it has none).
HeadReader = Callable[[str], Awaitable[int]]

#: Events read from the log per query; a shorter answer means "caught up".
READ_BATCH = 500
#: Newest frames a channel keeps, so late or briefly slow subscribers need no query.
RING_SIZE = 256
#: Hinted records a channel keeps before falling back to reading the log.
_MAX_HINTS = 1000
#: Subscribers offered a batch between two yields to the event loop. Each offer usually
#: writes to its socket there and then (about 20 µs, mostly the send system call); a
#: small slice (about a millisecond) lets requests (the producer's own round trips)
#: interleave with a big fan-out instead of waiting for thousands of writes per loop
#: iteration.
_DISPATCH_SLICE = 64


#: WebSocket frames (one per subscription-id prefix) a :class:`Frame` keeps.
_WS_FRAMES_KEPT = 4


class StreamGap(Exception):
    """The log cannot continue this feed from its cursor (history pruned or reset)."""

    def __init__(self, topic: str, cursor: int, first_seq: int | None) -> None:
        where = "the log has nothing" if first_seq is None else f"the log resumes at {first_seq}"
        super().__init__(f"{topic}: cannot replay after seq {cursor}; {where}")
        self.topic = topic
        self.cursor = cursor


class PositionNotInLog(Exception):
    """A subscription asked to start at a seq the topic has not reached (or below 0)."""

    def __init__(self, topic: str, seq: int, head: int) -> None:
        super().__init__(
            f"{topic}: seq {seq} is not in the log (head {head}); the node cannot resume there"
        )
        self.topic = topic
        self.seq = seq
        self.head = head


class Frame:
    """One committed event, serialised at most once for every subscriber of its topic.

    ``body`` is the JSON object ``{"topic","seq","event","data"}``: the SSE ``data`` line
    as is, and the tail of every WebSocket event frame after its ``subscription_id``. It
    is built on first use: an in-process follower (the OpenAI door) reads ``data`` as
    committed and never needs the JSON. ``data`` is shared by every subscriber: read it,
    never change it.
    """

    __slots__ = ("_body", "_sse_data", "_ws_frames", "_ws_tail", "data", "event", "seq", "topic")

    def __init__(self, record: EventRecord) -> None:
        self.topic = record.topic
        self.seq = record.seq
        self.event = record.event
        self.data = record.data
        self._body: str | None = None
        self._sse_data: bytes | None = None
        self._ws_tail: bytes | None = None
        self._ws_frames: dict[bytes, bytes] | None = None

    @property
    def body(self) -> str:
        """The event as compact JSON (serialised once)."""
        if self._body is None:
            self._body = json.dumps(
                {"topic": self.topic, "seq": self.seq, "event": self.event, "data": self.data},
                separators=(",", ":"),
            )
        return self._body

    @property
    def sse_data(self) -> bytes:
        """The SSE ``data:`` line and the blank line ending the event (encoded once;
        compact JSON never contains a newline)."""
        if self._sse_data is None:
            self._sse_data = f"data: {self.body}\n\n".encode()
        return self._sse_data

    def ws_frame(self, prefix: bytes) -> bytes:
        """The whole WebSocket text frame (header included, see
        :func:`aitbc.node.ws_protocol.text_frame`) of this event for a subscription
        whose message starts with ``prefix`` (``{"subscription_id":...,``).

        Built once per prefix: the subscribers of a topic mostly share a few
        subscription ids (clients number them per connection), so a fan-out finds its
        frame here. At most :data:`_WS_FRAMES_KEPT` prefixes are kept, so a frame in the
        ring never holds more than that many copies of its body; the rest are built
        per call.
        """
        frames = self._ws_frames
        if frames is not None:
            found = frames.get(prefix)
            if found is not None:
                return found
        else:
            frames = self._ws_frames = {}
        if self._ws_tail is None:
            self._ws_tail = self.body[1:].encode()  # the shared body, minus its opening brace
        tail = self._ws_tail
        built = text_frame_header(len(prefix) + len(tail)) + prefix + tail
        if len(frames) < _WS_FRAMES_KEPT:
            frames[prefix] = built
        return built


class Sink(Protocol):
    """Where one subscription's frames go (a connection's bounded outbound queue)."""

    def offer(self, frame: Frame) -> bool:
        """Queue ``frame`` without waiting; False when there is no room now."""

    async def put(self, frame: Frame) -> bool:
        """Queue ``frame``, waiting as long as the consumer is allowed to lag; False
        when the consumer has been cut off (nothing more should be sent)."""

    def end(self, error: Exception) -> None:
        """The subscription cannot continue: :class:`StreamGap`, or a resumable error."""


class Feed:
    """One subscription to one topic: a cursor (last seq handed to the sink) and a sink."""

    __slots__ = ("catch_up", "cursor", "live", "sink", "topic")

    def __init__(self, topic: str, cursor: int, sink: Sink) -> None:
        self.topic = topic
        self.cursor = cursor
        self.sink = sink
        self.live = False
        self.catch_up: asyncio.Task[None] | None = None


class TopicChannel:
    """Live delivery of one topic to every feed of this process."""

    def __init__(self, topic: str, logs: LogAccess) -> None:
        self.topic = topic
        self.head = 0
        self.feeds: set[Feed] = set()
        self.ring: deque[Frame] = deque(maxlen=RING_SIZE)
        self.failed: Exception | None = None
        #: Subscriptions between ``EventHub.open`` and ``join`` (keep the channel alive).
        self.opening = 0
        self._logs = logs
        self._hints: list[EventRecord] = []
        self._stale = False
        self._wake = asyncio.Event()
        self._ready = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name=f"aitbc-rt-{topic}")

    # -- from the hub --------------------------------------------------------------------

    def hint(self, records: Iterable[EventRecord]) -> None:
        """Freshly committed records of this topic (O(1): the task does the work)."""
        self._hints.extend(records)
        if len(self._hints) > _MAX_HINTS:
            self._hints.clear()
            self._stale = True  # the log has them all; reading it is cheaper than memory
        self._wake.set()

    def poke(self) -> None:
        """Look at the log for news (another worker committed, or a periodic check)."""
        self._stale = True
        self._wake.set()

    async def ready(self) -> None:
        """Wait until the head is known; raises the error that ended the channel."""
        await self._ready.wait()
        if self.failed is not None:
            raise self.failed

    def join(self, feed: Feed) -> None:
        """Add a feed: live at once when it is at the head, else it catches up first."""
        self.feeds.add(feed)
        if feed.cursor >= self.head:
            feed.live = True
        else:
            feed.catch_up = asyncio.create_task(self._catch_up(feed))

    def leave(self, feed: Feed) -> None:
        """Remove a feed (idempotent); its catch-up task, if any, is cancelled."""
        self.feeds.discard(feed)
        feed.live = False
        if feed.catch_up is not None:
            feed.catch_up.cancel()
            feed.catch_up = None

    async def close(self) -> None:
        """Stop the channel's task (its feeds are left alone)."""
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    # -- the channel's task --------------------------------------------------------------

    async def _run(self) -> None:
        try:
            self.head = await self._logs.read_head(self.topic)
            self._ready.set()
            while True:
                await self._wake.wait()
                self._wake.clear()
                frames = await self._fresh()
                if frames:
                    self.ring.extend(frames)
                    self.head = frames[-1].seq
                    await self._dispatch(frames)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a failed read: every feed resumes from its own seq
            log.warning("realtime channel %s stopped: %r", self.topic, exc)
            self.failed = exc
            self._ready.set()
            for feed in list(self.feeds):
                self.leave(feed)
                feed.sink.end(exc)

    async def _fresh(self) -> list[Frame]:
        """New frames after the head: from the hints when contiguous, else from the log."""
        hints, self._hints = self._hints, []
        if not self._stale:
            fresh = sorted((r for r in hints if r.seq > self.head), key=lambda r: r.seq)
            if all(r.seq == self.head + 1 + i for i, r in enumerate(fresh)):
                return [Frame(r) for r in fresh]
        # Another commit is in between (or nothing was hinted): one read for all feeds.
        self._stale = False
        frames: list[Frame] = []
        cursor = self.head
        while True:
            batch = await self._logs.read(self.topic, cursor)
            if batch and batch[0].seq != cursor + 1:
                raise StreamGap(self.topic, cursor, batch[0].seq)
            frames += [Frame(r) for r in batch]
            if batch:
                cursor = batch[-1].seq
            if len(batch) < READ_BATCH:
                return frames

    async def _dispatch(self, frames: list[Frame]) -> None:
        """Offer ``frames`` to every live feed; a feed without room starts catching up."""
        feeds = [f for f in self.feeds if f.live]
        for start in range(0, len(feeds), _DISPATCH_SLICE):
            if start:
                await asyncio.sleep(0)  # let requests run between slices of a big fan-out
            for feed in feeds[start : start + _DISPATCH_SLICE]:
                if not feed.live:
                    continue  # left (or fell behind) while we yielded
                for frame in frames:
                    if frame.seq <= feed.cursor:
                        continue
                    if not feed.sink.offer(frame):
                        feed.live = False
                        feed.catch_up = asyncio.create_task(self._catch_up(feed))
                        break
                    feed.cursor = frame.seq

    async def _catch_up(self, feed: Feed) -> None:
        """Bring one feed to the head (ring, else the log), then make it live."""
        try:
            while feed.cursor < self.head:
                for frame in await self._behind(feed.cursor):
                    if not await feed.sink.put(frame):
                        feed.catch_up = None  # this task: ending, not to be cancelled
                        self.leave(feed)
                        return
                    feed.cursor = frame.seq
            feed.live = True  # no await since the check: nothing was dispatched meanwhile
            feed.catch_up = None
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.feeds.discard(feed)
            feed.catch_up = None
            feed.sink.end(exc)

    async def _behind(self, cursor: int) -> list[Frame]:
        """Frames after ``cursor``: from the ring when it covers them, else one log read."""
        if self.ring and self.ring[0].seq <= cursor + 1:
            skip = cursor + 1 - self.ring[0].seq
            return [self.ring[i] for i in range(skip, len(self.ring))]
        batch = await self._logs.read(self.topic, cursor)
        if not batch or batch[0].seq != cursor + 1:
            raise StreamGap(self.topic, cursor, batch[0].seq if batch else None)
        return [Frame(r) for r in batch]


class LogAccess(Protocol):
    """How channels read the log (read path); ``EventHub`` holds them as attributes."""

    read: LogReader
    read_head: HeadReader


class EventHub:
    """The topic channels of this process; ``publish``/``notify`` hand them news.

    ``read`` and ``read_head`` are looked up at every use, so a test can swap them.
    """

    def __init__(self, read: LogReader, read_head: HeadReader) -> None:
        self.read = read
        self.read_head = read_head
        self._channels: dict[str, TopicChannel] = {}

    async def open(self, topic: str, resume_from: int | None, sink: Sink) -> tuple[Feed, int]:
        """Subscribe ``sink`` to ``topic`` after ``resume_from`` (None: from the head);
        return the feed and the head it was opened against.

        Nothing reaches the sink before this returns, and the first event can only be
        offered after the caller's next await: queue the "subscribed" answer first.
        Raises PositionNotInLog when ``resume_from`` is not in the log, and the read
        error when the topic's head cannot be read.
        """
        channel = self._channel(topic)
        channel.opening += 1
        try:
            cursor = await self._start(channel, resume_from)
        except BaseException:
            channel.opening -= 1
            self._drop_if_idle(channel)
            raise
        channel.opening -= 1
        feed = Feed(topic, cursor, sink)
        channel.join(feed)
        return feed, max(cursor, channel.head)

    async def _start(self, channel: TopicChannel, resume_from: int | None) -> int:
        await channel.ready()
        cursor = channel.head if resume_from is None else resume_from
        if cursor < 0:
            raise PositionNotInLog(channel.topic, cursor, channel.head)
        if cursor > channel.head:
            # The channel may lag the log (another worker committed): ask the log.
            head = await self.read_head(channel.topic)
            if cursor > head:
                raise PositionNotInLog(channel.topic, cursor, head)
        return cursor

    def close(self, feed: Feed) -> None:
        """Stop delivering to ``feed`` (idempotent)."""
        channel = self._channels.get(feed.topic)
        if channel is not None:
            channel.leave(feed)
            self._drop_if_idle(channel)

    def publish(self, records: list[EventRecord]) -> None:
        """Hand a local commit's records to the channels of their topics (O(topics))."""
        by_topic: dict[str, list[EventRecord]] = {}
        for record in records:
            by_topic.setdefault(record.topic, []).append(record)
        for topic, batch in by_topic.items():
            channel = self._channels.get(topic)
            if channel is not None:
                channel.hint(batch)

    def notify(self, topic: str) -> None:
        """Another worker committed to ``topic``: its channel reads the log once."""
        channel = self._channels.get(topic)
        if channel is not None:
            channel.poke()

    async def sweep(self, spread: float) -> None:
        """Poke every channel once, spaced over ``spread`` seconds (never all at once):
        notifications may have been lost, and each check is one read per topic."""
        topics = list(self._channels)
        pause = spread / len(topics) if topics else spread
        for topic in topics:
            channel = self._channels.get(topic)
            if channel is not None:
                channel.poke()
            await asyncio.sleep(pause)
        if not topics:
            await asyncio.sleep(spread)

    async def stop(self) -> None:
        """Stop every channel's task."""
        channels, self._channels = list(self._channels.values()), {}
        for channel in channels:
            for feed in list(channel.feeds):
                channel.leave(feed)
            await channel.close()

    @property
    def topics(self) -> list[str]:
        """Topics with a channel in this process."""
        return list(self._channels)

    def _channel(self, topic: str) -> TopicChannel:
        channel = self._channels.get(topic)
        if channel is None or channel.failed is not None:
            channel = TopicChannel(topic, self)
            self._channels[topic] = channel
        return channel

    def _drop_if_idle(self, channel: TopicChannel) -> None:
        idle = not channel.feeds and not channel.opening
        if idle and self._channels.get(channel.topic) is channel:
            del self._channels[channel.topic]
            asyncio.get_running_loop().create_task(channel.close())
