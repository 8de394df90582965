"""The running node: engine, identity, transactions and post-commit event listeners.

One :class:`Node` per process (per ASGI app). It holds nothing another worker would need:
all state is in the database; the in-memory wake-up only shortens long-poll latency.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..core.signing import SigningKey
from .clock import utcnow
from .database import create_engine, is_sqlite, migrate
from .events import EventListener, EventRecord, PendingEvent, append_events
from .key_cache import KeyCache
from .settings import NodeSettings

if TYPE_CHECKING:
    from .services.principals import Principal

log = logging.getLogger("aitbc.node")


class Tx:
    """One database transaction plus the events it will append on commit.

    Services receive a Tx, read and write through ``session`` and call :meth:`emit` for
    every state change; ``now`` is the transaction's single notion of the current time.
    """

    def __init__(self, node: Node, session: AsyncSession) -> None:
        self.node = node
        self.session = session
        self.now: datetime = utcnow()
        self.pending: list[PendingEvent] = []

    @property
    def settings(self) -> NodeSettings:
        return self.node.settings

    def emit(self, topic: str, event: str, data: Any) -> None:
        """Queue an event; it is written with this transaction or not at all."""
        self.pending.append(PendingEvent(topic, event, data))


class Wakeup:
    """Wakes long-polling miners in this process when work may have appeared."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seconds: float) -> None:
        """Return when notified or after ``seconds``, whichever comes first."""
        event = self._event
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await event.wait()


class Node:
    """Process-wide node state; create with settings, then ``await start()``."""

    def __init__(self, settings: NodeSettings) -> None:
        self.settings = settings
        self.engine = create_engine(settings.database_url)
        #: Sessions that may write (SQLite: BEGIN IMMEDIATE). Use :meth:`transaction`.
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.read_engine = (
            create_engine(settings.database_url, readonly=True)
            if is_sqlite(self.engine)
            else self.engine
        )
        #: Sessions for pure reads: on SQLite they never queue behind writers.
        self.reads = async_sessionmaker(self.read_engine, expire_on_commit=False)
        self.event_listeners: list[EventListener] = [self._wake_pollers]
        #: Successful API-key lookups of this worker (see :mod:`.key_cache`).
        self.key_cache: KeyCache[Principal] = KeyCache()
        self.job_wakeup = Wakeup()
        self.signing_key: SigningKey = SigningKey.generate()
        self.coordinator_id = ""
        self.created_admin_key: str | None = None
        #: Set by :meth:`stop_polls`: waiting long-polls answer 204 at once.
        self.stopping = False

    async def start(self, *, bootstrap_admin: bool = True) -> None:
        """Migrate the schema, load or create the node identity, bootstrap the admin.

        Sets ``created_admin_key`` when this start created the first admin key.
        Raises ConfigurationError when the database is unusable or belongs to another chain.
        """
        from .services.identity import load_identity
        from .services.principals import ensure_admin

        await migrate(self.engine)
        self.signing_key, self.coordinator_id = await load_identity(self)
        if bootstrap_admin:
            self.created_admin_key = await ensure_admin(self)

    def stop_polls(self) -> None:
        """End every waiting long-poll of this process now (call before a shutdown)."""
        self.stopping = True
        self.job_wakeup.notify()

    async def close(self) -> None:
        """Release every pooled connection."""
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """Run a block in one transaction; on success append its events, commit, notify.

        Listeners run after the commit, so they never see an event that was rolled back.
        """
        async with self.sessions() as session, session.begin():
            tx = Tx(self, session)
            yield tx
            records = await append_events(session, tx.pending, tx.now)
        if records:
            await self.notify(records)

    async def notify(self, records: list[EventRecord]) -> None:
        """Call every listener with committed ``records``; a failing listener is logged."""
        for listener in list(self.event_listeners):
            try:
                await listener(records)
            except Exception:
                log.exception("event listener %r failed", listener)

    async def _wake_pollers(self, records: list[EventRecord]) -> None:
        if any(r.event in ("job.created", "job.requeued") for r in records):
            self.job_wakeup.notify()
