"""The event log (outbox): gap-free per-topic sequence numbers, written in the same
transaction as the state change they describe.

Sequence numbers come from a per-topic counter row updated in that transaction, so two
transactions appending to one topic serialize on the row and neither can leave a gap.
Topics are allocated in sorted order to keep lock order the same in every transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from .models import EventRow, EventTopicRow


@dataclass(frozen=True)
class EventRecord:
    """One committed event: what listeners receive and replay returns."""

    topic: str
    seq: int
    event: str
    data: Any
    created_at: datetime


EventListener = Callable[[list[EventRecord]], Awaitable[None]]


@dataclass(frozen=True)
class PendingEvent:
    topic: str
    event: str
    data: Any


async def _next_seqs(session: AsyncSession, topic: str, count: int) -> int:
    """Reserve ``count`` seqs on ``topic``; returns the first one."""
    bumped = await session.execute(
        update(EventTopicRow)
        .where(EventTopicRow.topic == topic)
        .values(last_seq=EventTopicRow.last_seq + count)
        .returning(EventTopicRow.last_seq)
    )
    last = bumped.scalar_one_or_none()
    if last is not None:
        return int(last) - count + 1
    try:
        async with session.begin_nested():
            await session.execute(insert(EventTopicRow).values(topic=topic, last_seq=count))
    except IntegrityError:
        # Another transaction created the counter first: bump it like everyone else.
        return await _next_seqs(session, topic, count)
    return 1


async def append_events(
    session: AsyncSession, pending: Sequence[PendingEvent], now: datetime
) -> list[EventRecord]:
    """Write ``pending`` to the log inside the caller's transaction; return the records."""
    by_topic: dict[str, list[PendingEvent]] = {}
    for item in pending:
        by_topic.setdefault(item.topic, []).append(item)
    records: list[EventRecord] = []
    for topic in sorted(by_topic):
        items = by_topic[topic]
        first = await _next_seqs(session, topic, len(items))
        for offset, item in enumerate(items):
            records.append(EventRecord(topic, first + offset, item.event, item.data, now))
    if records:
        await session.execute(
            insert(EventRow),
            [
                {
                    "topic": r.topic,
                    "seq": r.seq,
                    "event": r.event,
                    "data": r.data,
                    "created_at": r.created_at,
                }
                for r in records
            ],
        )
    return records


async def read_events(
    session: AsyncSession, topic: str, after_seq: int = 0, limit: int = 500
) -> list[EventRecord]:
    """Events of ``topic`` with ``seq > after_seq``, oldest first (for replay/resume)."""
    rows = await session.scalars(
        select(EventRow)
        .where(EventRow.topic == topic, EventRow.seq > after_seq)
        .order_by(EventRow.seq)
        .limit(limit)
    )
    return [EventRecord(r.topic, r.seq, r.event, r.data, r.created_at) for r in rows]


async def last_seq(session: AsyncSession, topic: str) -> int:
    """The newest seq of ``topic`` (0 when it has none)."""
    value = await session.scalar(select(EventTopicRow.last_seq).where(EventTopicRow.topic == topic))
    return int(value or 0)
