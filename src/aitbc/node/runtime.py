"""The running node: engine, identity, transactions and post-commit event listeners.

One :class:`Node` per process (per ASGI app). It holds nothing another worker would need:
all state is in the database; the in-memory wake-up only shortens long-poll latency.

The data plane (see docs/node-data.md):

- :meth:`Node.write` runs a write transaction as ONE synchronous function over a SQLAlchemy
  Core connection (a *unit*: no ORM session, statements built once at import). On SQLite
  the units queued during one event-loop iteration run as one batch - one commit, a
  savepoint per unit - in place, with a lock-free fast path, or on the writer thread when
  another connection holds the lock (:mod:`.writer`). On PostgreSQL a unit runs in its
  own transaction on a pooled asyncpg connection (``run_sync``: row locks, not one
  database lock, so units of different requests overlap). Either way the unit's events
  are appended in its transaction and the listeners run after the commit.
- :meth:`Node.read` runs a read-only function: on SQLite inline on the event loop over a
  ``query_only`` stdlib connection (a one-row read costs tens of microseconds, less than a
  thread hop); on PostgreSQL on a pooled connection in autocommit mode: at READ COMMITTED
  every statement takes its own snapshot anyway, so the BEGIN and ROLLBACK around a read
  were two round trips that bought nothing.
- :meth:`Node.transaction` (an async ORM session) remains for code written against it; it
  keeps every invariant but costs one driver round trip per statement.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from ..core.signing import SigningKey
from .clock import utcnow
from .database import create_engine, create_sqlite_engine, is_sqlite, migrate
from .events import EventListener, EventRecord, PendingEvent, append_events, write_events
from .key_cache import KeyCache
from .key_revocations import KeyRevocations
from .settings import NodeSettings
from .writer import SQLiteWriter

if TYPE_CHECKING:
    from .services.principals import KeyGrant

log = logging.getLogger("aitbc.node")
T = TypeVar("T")


class _Unit:
    """What every transaction hands its services: the node, the transaction's single
    notion of the current time, and the events it appends on commit."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.now: datetime = node.clock()
        self.pending: list[PendingEvent] = []

    @property
    def settings(self) -> NodeSettings:
        return self.node.settings

    def emit(self, topic: str, event: str, data: Any) -> None:
        """Queue an event; it is written with this transaction or not at all."""
        self.pending.append(PendingEvent(topic, event, data))


class WriteTx(_Unit):
    """One unit of work: a Core connection inside a transaction, plus its pending events.

    Units (plain ``def`` functions taking a WriteTx) read and write through ``conn`` and
    call :meth:`emit` for every state change; ``now`` is the unit's single notion of the
    current time. Raising anything rolls back everything the unit did.
    """

    def __init__(self, node: Node, conn: Connection) -> None:
        super().__init__(node)
        self.conn = conn


def _run_unit(conn: Connection, node: Node, fn: Callable[[WriteTx], T]) -> Any:
    """Run ``fn`` in ``conn``'s open transaction; (value, its event records)."""
    tx = WriteTx(node, conn)
    value = fn(tx)
    return value, write_events(conn, tx.pending, tx.now)


#: PostgreSQL channel on which a commit that queued work wakes every worker's long-polls.
JOBS_CHANNEL = "aitbc_jobs"
_WAKE_EVENTS = ("job.created", "job.requeued")


def _run_transaction(conn: Connection, node: Node, fn: Callable[[WriteTx], T]) -> Any:
    with conn.begin():
        value, records = _run_unit(conn, node, fn)
        if any(r.event in _WAKE_EVENTS for r in records):
            # Delivered at COMMIT (never for a rollback) to every worker's listener, so a
            # miner polling another worker claims at once instead of at its next recheck.
            # The payload names this worker, whose own pollers the post-commit listener
            # wakes already (see Node._on_jobs_notify).
            conn.exec_driver_sql(f"NOTIFY {JOBS_CHANNEL}, '{node.worker_token}'")
        return value, records


class Tx(_Unit):
    """One database transaction plus the events it will append on commit.

    Services receive a Tx, read and write through ``session`` and call :meth:`emit` for
    every state change; ``now`` is the transaction's single notion of the current time.
    """

    def __init__(self, node: Node, session: AsyncSession) -> None:
        super().__init__(node)
        self.session = session


class Wakeup:
    """Wakes long-polling miners in this process when work may have appeared."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    def armed(self) -> asyncio.Event:
        """The event the next :meth:`notify` sets (for waiting without a deadline)."""
        return self._event

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
        #: The node's notion of now (every transaction's ``now``, key expiry); tests
        #: replace it to move time instead of sleeping.
        self.clock: Callable[[], datetime] = utcnow
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
        self.is_sqlite = is_sqlite(self.engine)
        #: PostgreSQL reads (see module doc): the same pool, no transaction.
        self._autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        #: SQLite data plane: the writer and the in-place read engine (see module doc).
        self.writer: SQLiteWriter | None = None
        self._sync_reads: Engine | None = None
        if self.is_sqlite:
            self.writer = SQLiteWriter(settings.database_url)
            self._sync_reads = create_sqlite_engine(settings.database_url, readonly=True)
        self._notifying: set[asyncio.Task[None]] = set()
        self._read_local = threading.local()
        #: PostgreSQL: the connection LISTENing on JOBS_CHANNEL (see start()).
        self._listener: AsyncConnection | None = None
        self._read_connections: list[Connection] = []
        #: The loop whose units run in place (see :mod:`.writer`) and its pending batch.
        self._home_loop: asyncio.AbstractEventLoop | None = None
        self._batch: list[tuple[Callable[[Connection], Any], Callable[[bool, Any], None]]] = []
        self.event_listeners: list[EventListener] = [self._wake_pollers]
        #: Successful API-key lookups of this worker (see :mod:`.key_cache`).
        self.key_cache: KeyCache[KeyGrant] = KeyCache()
        #: Revocations reach every worker's key cache (see :mod:`.key_revocations`).
        self.revocations = KeyRevocations(self.key_cache, settings.redis_url)
        self.job_wakeup = Wakeup()
        #: Names this worker in its NOTIFY payloads (hex: safe inside the SQL literal).
        self.worker_token = secrets.token_hex(8)
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
        await self.revocations.start()
        if self.engine.dialect.name == "postgresql":
            self._listener = await self.engine.connect()
            driver = (await self._listener.get_raw_connection()).driver_connection
            assert driver is not None  # a checked-out asyncpg connection
            await driver.add_listener(JOBS_CHANNEL, self._on_jobs_notify)

    def _on_jobs_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        if payload != self.worker_token:  # our own commits woke our pollers already
            self.job_wakeup.notify()

    def stop_polls(self) -> None:
        """End every waiting long-poll of this process now (call before a shutdown)."""
        self.stopping = True
        self.job_wakeup.notify()

    async def close(self) -> None:
        """Finish queued writes and release every pooled connection."""
        await self.revocations.stop()
        if self.writer is not None:
            await asyncio.to_thread(self.writer.close)
        if self._listener is not None:
            driver = (await self._listener.get_raw_connection()).driver_connection
            with contextlib.suppress(Exception):  # the server may be gone already
                assert driver is not None
                await driver.remove_listener(JOBS_CHANNEL, self._on_jobs_notify)
            await self._listener.close()
            self._listener = None
        for conn in self._read_connections:
            conn.close()
        self._read_connections.clear()
        if self._sync_reads is not None:
            self._sync_reads.dispose()
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()

    async def read(self, fn: Callable[[Connection], T]) -> T:
        """Run the read-only ``fn(conn)`` in one snapshot; return what it returns."""
        if self._sync_reads is not None:
            with self._read_connection().begin() as transaction:
                return fn(transaction.connection)
        async with self._autocommit.connect() as aconn:
            return await aconn.run_sync(fn)

    def _read_connection(self) -> Connection:
        """This thread's read connection, kept open: a pool checkout per read cost more
        than the read."""
        assert self._sync_reads is not None
        conn: Connection | None = getattr(self._read_local, "conn", None)
        if conn is None or conn.closed:
            conn = self._sync_reads.connect()
            self._read_local.conn = conn
            self._read_connections.append(conn)
        return conn

    async def write(self, fn: Callable[[WriteTx], T]) -> T:
        """Run the unit ``fn(tx)`` as one transaction; its events go to the listeners.

        Whatever ``fn`` raises is re-raised here after its changes were rolled back.
        """
        if self.writer is None:
            async with self.engine.connect() as aconn:
                value, records = await aconn.run_sync(_run_transaction, self, fn)
            if records:
                await self.notify(records)
            return value  # type: ignore[no-any-return]
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[T, asyncio.Task[None] | None]] = loop.create_future()

        def deliver(ok: bool, payload: Any) -> None:
            # Runs on this loop after the commit. Listeners are started even if the caller
            # was cancelled meanwhile: a committed event is always announced.
            if not ok:
                if not future.done():
                    future.set_exception(payload)
                return
            value, records = payload
            task = self._spawn_notify(records) if records else None
            if not future.done():
                future.set_result((value, task))

        def unit(conn: Connection) -> Any:
            return _run_unit(conn, self, fn)

        if self._home_loop is None:
            self._home_loop = loop
        if loop is self._home_loop:
            # Units arriving in this loop iteration share one commit (see _flush).
            self._batch.append((unit, deliver))
            if len(self._batch) == 1:
                loop.call_soon(self._flush)
        else:  # another thread's loop: never touch the in-place connection from there
            self.writer.submit(unit, loop, deliver)
        value, task = await future
        if task is not None:
            await asyncio.shield(task)
        return value

    def _flush(self) -> None:
        """Run the units queued during this loop iteration as one batch, in place; hand
        them to the writer thread if another connection holds the write lock."""
        assert self.writer is not None and self._home_loop is not None
        batch, self._batch = self._batch, []
        try:
            ran = self.writer.run_here(batch)
        except Exception as exc:  # e.g. the file cannot be opened: every caller hears it
            for _, deliver in batch:
                deliver(False, exc)
            return
        if not ran:
            for unit, deliver in batch:
                self.writer.submit(unit, self._home_loop, deliver)

    def _spawn_notify(self, records: list[EventRecord]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(self.notify(records))
        self._notifying.add(task)
        task.add_done_callback(self._notifying.discard)
        return task

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
