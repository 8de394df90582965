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

from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite
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


def _upsert(dialect: str) -> Any:
    if dialect == "postgresql":
        return postgresql.insert
    return sqlite.insert


async def _reserve(session: AsyncSession, counts: dict[str, int]) -> dict[str, int]:
    """Reserve ``counts[topic]`` seqs per topic in one upsert; return each topic's last.

    Rows go in sorted topic order, so concurrent transactions lock counters in the same
    order (no deadlock) and each waits for the other's commit (no gap, no duplicate).
    """
    table = EventTopicRow.__table__
    stmt = _upsert(session.get_bind().dialect.name)(table).values(
        [{"topic": t, "last_seq": n} for t, n in sorted(counts.items())]
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.topic],
        set_={"last_seq": table.c.last_seq + stmt.excluded.last_seq},
    ).returning(table.c.topic, table.c.last_seq)
    rows = await session.execute(stmt)
    return {str(topic): int(last) for topic, last in rows}


async def append_events(
    session: AsyncSession, pending: Sequence[PendingEvent], now: datetime
) -> list[EventRecord]:
    """Write ``pending`` to the log inside the caller's transaction; return the records."""
    if not pending:
        return []
    by_topic: dict[str, list[PendingEvent]] = {}
    for item in pending:
        by_topic.setdefault(item.topic, []).append(item)
    last = await _reserve(session, {t: len(items) for t, items in by_topic.items()})
    records: list[EventRecord] = []
    for topic in sorted(by_topic):
        items = by_topic[topic]
        first = last[topic] - len(items) + 1
        records += [
            EventRecord(topic, first + i, item.event, item.data, now)
            for i, item in enumerate(items)
        ]
    rows = [
        {
            "topic": r.topic,
            "seq": r.seq,
            "event": r.event,
            "data": r.data,
            "created_at": r.created_at,
        }
        for r in records
    ]
    await session.execute(insert(EventRow), rows)
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
