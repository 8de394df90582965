"""The event log (outbox): gap-free per-topic sequence numbers, written in the same
transaction as the state change they describe.

Sequence numbers come from a per-topic counter row updated in that transaction, so two
transactions appending to one topic serialize on the row and neither can leave a gap.
Topics are allocated in sorted order to keep lock order the same in every transaction.
The statements are built once at import (the counter bump is one array statement on
PostgreSQL) and, on SQLite, run on the driver's cursor (:mod:`.raw_sql`), so no
transaction pays for compiling them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from .raw_sql import RawStatement
from .tables import EVENT_TOPICS, EVENTS


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


#: SQLite: one prepared single-row upsert per topic (a handful per transaction).
_SQLITE_UPSERT = sqlite.insert(EVENT_TOPICS).values(topic=bindparam("t"), last_seq=bindparam("n"))
_SQLITE_BUMP = _SQLITE_UPSERT.on_conflict_do_update(
    index_elements=[EVENT_TOPICS.c.topic],
    set_={"last_seq": EVENT_TOPICS.c.last_seq + _SQLITE_UPSERT.excluded.last_seq},
).returning(EVENT_TOPICS.c.topic, EVENT_TOPICS.c.last_seq)

#: PostgreSQL: every topic of the transaction in ONE statement of fixed shape (arrays),
#: so it is compiled and prepared once per connection, never per transaction.
_PG_BUMP = text(
    "INSERT INTO event_topics (topic, last_seq) "
    "SELECT t, n FROM unnest(CAST(:topics AS text[]), CAST(:counts AS bigint[])) AS u(t, n) "
    "ON CONFLICT (topic) DO UPDATE SET last_seq = event_topics.last_seq + EXCLUDED.last_seq "
    "RETURNING topic, last_seq"
)

_SQLITE_BUMP_RAW = RawStatement(_SQLITE_BUMP)
_INSERT_EVENTS = RawStatement(insert(EVENTS), ["topic", "seq", "event", "data", "created_at"])


def _reserve(conn: Connection, counts: dict[str, int]) -> dict[str, int]:
    """Reserve ``counts[topic]`` seqs per topic; return each topic's last.

    Rows go in sorted topic order, so concurrent transactions lock counters in the same
    order (no deadlock) and each waits for the other's commit (no gap, no duplicate).
    """
    topics = sorted(counts)
    if conn.dialect.name == "postgresql":
        rows = conn.execute(_PG_BUMP, {"topics": topics, "counts": [counts[t] for t in topics]})
        return {str(topic): int(last) for topic, last in rows}
    last: dict[str, int] = {}
    for topic in topics:
        row = _SQLITE_BUMP_RAW.one(conn, t=topic, n=counts[topic])
        last[topic] = int(row.last_seq)
    return last


def write_events(
    conn: Connection, pending: Sequence[PendingEvent], now: datetime
) -> list[EventRecord]:
    """Write ``pending`` to the log inside ``conn``'s transaction; return the records."""
    if not pending:
        return []
    by_topic: dict[str, list[PendingEvent]] = {}
    for item in pending:
        by_topic.setdefault(item.topic, []).append(item)
    last = _reserve(conn, {t: len(items) for t, items in by_topic.items()})
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
    _INSERT_EVENTS.many(conn, rows)
    return records


async def append_events(
    session: AsyncSession, pending: Sequence[PendingEvent], now: datetime
) -> list[EventRecord]:
    """:func:`write_events` inside an async session's transaction (``Node.transaction``)."""
    if not pending:
        return []
    conn = await session.connection()
    return await conn.run_sync(write_events, pending, now)


_READ_EVENTS = (
    select(EVENTS)
    .where(EVENTS.c.topic == bindparam("topic"), EVENTS.c.seq > bindparam("after"))
    .order_by(EVENTS.c.seq)
    .limit(bindparam("limit"))
)
_LAST_SEQ = select(EVENT_TOPICS.c.last_seq).where(EVENT_TOPICS.c.topic == bindparam("topic"))


def fetch_events(
    conn: Connection, topic: str, after_seq: int = 0, limit: int = 500
) -> list[EventRecord]:
    """Events of ``topic`` with ``seq > after_seq``, oldest first (for ``Node.read``)."""
    rows = conn.execute(_READ_EVENTS, {"topic": topic, "after": after_seq, "limit": limit})
    return [EventRecord(r.topic, r.seq, r.event, r.data, r.created_at) for r in rows]


def fetch_last_seq(conn: Connection, topic: str) -> int:
    """The newest seq of ``topic``, 0 when it has none (for ``Node.read``)."""
    return int(conn.execute(_LAST_SEQ, {"topic": topic}).scalar() or 0)


async def read_events(
    session: AsyncSession, topic: str, after_seq: int = 0, limit: int = 500
) -> list[EventRecord]:
    """:func:`fetch_events` through an async session (replay/resume)."""
    conn = await session.connection()
    return await conn.run_sync(fetch_events, topic, after_seq, limit)
