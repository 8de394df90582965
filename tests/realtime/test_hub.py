"""The topic channels' delivery logic against an in-memory log (no node, no sockets):
who gets what, how often the log is read, and what a failed read does."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from aitbc.node.events import EventRecord
from aitbc.node.realtime.hub import RING_SIZE, EventHub, Frame, PositionNotInLog, StreamGap

TOPIC = "marketplace"


class MemoryLog:
    """A topic log with read counters, and a switch to make reads fail."""

    def __init__(self) -> None:
        self.records: list[EventRecord] = []
        self.reads = 0
        self.head_reads = 0
        self.fail_next: Exception | None = None

    def append(self, count: int) -> list[EventRecord]:
        start = len(self.records)
        fresh = [
            EventRecord(TOPIC, start + i + 1, "test.tick", {"n": start + i + 1}, datetime.now(UTC))
            for i in range(count)
        ]
        self.records += fresh
        return fresh

    async def read(self, topic: str, after: int) -> list[EventRecord]:
        self.reads += 1
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error
        return [r for r in self.records if r.seq > after][:500]

    async def read_head(self, topic: str) -> int:
        self.head_reads += 1
        return len(self.records)


class ListSink:
    """Collects frames; ``room`` bounds how many it takes without waiting."""

    def __init__(self, room: int = 10_000) -> None:
        self.frames: list[Frame] = []
        self.room = room
        self.ended: Exception | None = None
        self.drained = asyncio.Event()

    def offer(self, frame: Frame) -> bool:
        if len(self.frames) >= self.room:
            return False
        self.frames.append(frame)
        return True

    async def put(self, frame: Frame) -> bool:
        await self.drained.wait()  # a slow consumer that eventually reads everything
        self.frames.append(frame)
        return True

    def end(self, error: Exception) -> None:
        self.ended = error

    @property
    def seqs(self) -> list[int]:
        return [f.seq for f in self.frames]


async def settle(done: Callable[[], bool]) -> None:
    """Let the loop run until ``done()`` (scheduling steps, not wall-clock time)."""
    for _ in range(10_000):
        if done():
            return
        await asyncio.sleep(0)
    raise AssertionError("the hub never got there")


@pytest.fixture
def log() -> MemoryLog:
    return MemoryLog()


@pytest.fixture
async def hub(log: MemoryLog) -> EventHub:
    return EventHub(log.read, log.read_head)


async def test_publish_hands_off_and_every_subscriber_gets_each_frame_once(
    hub: EventHub, log: MemoryLog
) -> None:
    log.append(2)
    sinks = [ListSink() for _ in range(2000)]
    for sink in sinks:
        await hub.open(TOPIC, None, sink)
    assert log.head_reads == 1  # one head read for the topic, not one per subscriber
    hub.publish(log.append(3))
    # The producer returned without touching a single subscriber...
    assert all(not sink.frames for sink in sinks)
    await settle(lambda: all(len(sink.frames) == 3 for sink in sinks))
    await asyncio.sleep(0)
    # ...and then each got every event exactly once, from frames serialised once.
    assert all(sink.seqs == [3, 4, 5] for sink in sinks)
    assert all(sink.frames[0] is sinks[0].frames[0] for sink in sinks)
    assert log.reads == 0  # a contiguous local commit needs no query at all
    await hub.stop()


async def test_news_from_elsewhere_costs_one_read_per_topic(hub: EventHub, log: MemoryLog) -> None:
    sinks = [ListSink() for _ in range(300)]
    for sink in sinks:
        await hub.open(TOPIC, None, sink)
    log.append(4)  # committed by another worker: only a notification arrives
    hub.notify(TOPIC)
    hub.notify(TOPIC)
    await settle(lambda: all(len(sink.frames) == 4 for sink in sinks))
    assert all(sink.seqs == [1, 2, 3, 4] for sink in sinks)
    assert log.reads <= 2  # one per wake-up, never one per subscriber
    before = log.reads
    await hub.sweep(0)
    await settle(lambda: log.reads > before)
    assert log.reads == before + 1
    await hub.stop()


async def test_full_sink_catches_up_from_the_ring_and_rejoins(
    hub: EventHub, log: MemoryLog
) -> None:
    slow, fast = ListSink(room=2), ListSink()
    await hub.open(TOPIC, None, slow)
    await hub.open(TOPIC, None, fast)
    hub.publish(log.append(5))
    await settle(lambda: len(fast.frames) == 5)
    assert slow.seqs == [1, 2]  # no room for the rest: it left live delivery
    slow.drained.set()
    await settle(lambda: len(slow.frames) == 5)
    slow.room = 10_000
    hub.publish(log.append(2))  # live again: offered directly
    await settle(lambda: len(slow.frames) == 7 and len(fast.frames) == 7)
    assert slow.seqs == fast.seqs == [1, 2, 3, 4, 5, 6, 7]
    assert log.reads == 0
    await hub.stop()


async def test_resume_beyond_the_ring_reads_the_log_and_in_order(
    hub: EventHub, log: MemoryLog
) -> None:
    live = ListSink()
    await hub.open(TOPIC, None, live)
    hub.publish(log.append(RING_SIZE + 50))
    await settle(lambda: len(live.frames) == RING_SIZE + 50)
    late = ListSink()
    late.drained.set()
    await hub.open(TOPIC, 10, late)
    await settle(lambda: len(late.frames) == RING_SIZE + 40)
    assert late.seqs == list(range(11, RING_SIZE + 51))
    assert log.reads == 1  # seqs 11-50 are older than the ring: one log read
    with pytest.raises(PositionNotInLog):
        await hub.open(TOPIC, RING_SIZE + 51, ListSink())
    await hub.stop()


async def test_a_failed_read_ends_every_subscription_resumably(
    hub: EventHub, log: MemoryLog
) -> None:
    sinks = [ListSink() for _ in range(5)]
    for sink in sinks:
        await hub.open(TOPIC, None, sink)
    log.fail_next = TimeoutError("QueuePool limit reached")
    log.append(1)
    hub.notify(TOPIC)
    await settle(lambda: all(sink.ended is not None for sink in sinks))
    assert all(isinstance(sink.ended, TimeoutError) for sink in sinks)
    # Resuming from the last seq each received works on a fresh channel.
    again = ListSink()
    again.drained.set()
    await hub.open(TOPIC, 0, again)
    await settle(lambda: len(again.frames) == 1)
    assert again.seqs == [1] and again.ended is None
    await hub.stop()


async def test_pruned_history_is_a_gap(hub: EventHub, log: MemoryLog) -> None:
    log.append(10)
    del log.records[:5]  # an operator pruned seqs 1-5
    sink = ListSink()
    sink.drained.set()
    await hub.open(TOPIC, 2, sink)
    await settle(lambda: sink.ended is not None)
    assert isinstance(sink.ended, StreamGap) and not sink.frames
    await hub.stop()
