"""Follow one job's topic from inside the node: committed events in seq order.

Reads the event log (so it sees what any worker committed) and sleeps between reads on
a wake-up that this process's post-commit listener sets, with a periodic recheck for
events committed by other workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncGenerator

from ..events import EventRecord, read_events
from ..runtime import Node

_waiters: weakref.WeakKeyDictionary[Node, dict[str, set[asyncio.Event]]] = (
    weakref.WeakKeyDictionary()
)


def _topic_waiters(node: Node) -> dict[str, set[asyncio.Event]]:
    waiters = _waiters.get(node)
    if waiters is None:
        waiters = {}
        _waiters[node] = waiters
        table = waiters

        async def wake(records: list[EventRecord]) -> None:
            for topic in {r.topic for r in records}:
                for event in table.get(topic, ()):
                    event.set()

        node.event_listeners.append(wake)
    return waiters


async def follow(node: Node, topic: str, after_seq: int = 0) -> AsyncGenerator[EventRecord, None]:
    """Every event of ``topic`` after ``after_seq``, as committed, until the caller stops."""
    waiters = _topic_waiters(node)
    wake = asyncio.Event()
    waiters.setdefault(topic, set()).add(wake)
    try:
        while True:
            wake.clear()
            async with node.reads() as session:
                records = await read_events(session, topic, after_seq)
            for record in records:
                after_seq = record.seq
                yield record
            if not records:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(node.settings.poll_recheck_seconds):
                        await wake.wait()
    finally:
        waiters[topic].discard(wake)
        if not waiters[topic]:
            del waiters[topic]
