"""Engines, sessions and migrations for SQLite and PostgreSQL.

SQLite transactions start with ``BEGIN IMMEDIATE`` so a read-then-write transaction takes
the write lock up front and waits (busy timeout) instead of failing on lock upgrade.
PostgreSQL runs at READ COMMITTED; every state change is a compare-and-set UPDATE.

Besides the async engines (asyncpg, aiosqlite), SQLite gets two *synchronous* engines
(stdlib ``sqlite3``) for the data plane of :mod:`aitbc.node.runtime`: one for the writer
thread (``BEGIN IMMEDIATE``) and one for reads run inline (``BEGIN``, ``query_only``).
A plain ``sqlite3`` call costs microseconds; a hop to aiosqlite's thread costs ~0.2 ms.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, event, text
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import Connection
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, SingletonThreadPool

from ..errors import ConfigurationError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
#: pg_advisory_lock key so that several workers starting at once migrate one at a time.
_MIGRATION_LOCK = 0x41495442


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def create_engine(url: str, *, readonly: bool = False) -> AsyncEngine:
    """An async engine for ``url`` (``sqlite+aiosqlite://`` or ``postgresql+asyncpg://``).

    ``readonly`` (SQLite only) makes plain deferred read transactions that never wait for
    the write lock: in WAL mode readers and the one writer do not block each other.
    Raises ConfigurationError for an unsupported or malformed URL.
    """
    if url.startswith("postgresql://"):
        url = url.replace("postgresql://", "postgresql+asyncpg://", 1)
    if url.startswith("sqlite://"):
        url = url.replace("sqlite://", "sqlite+aiosqlite://", 1)
    kwargs: dict[str, Any] = {}
    if url.startswith("postgresql+asyncpg://"):
        # No pool_pre_ping: it is one more round trip on every checkout (every request).
        # A connection broken by a server restart fails its one request and is discarded.
        # pool_size: connections kept between bursts. With 28 concurrent requests a
        # smaller pool opened and closed overflow connections all the time (a new
        # connection costs a handshake and re-preparing every statement). LIFO: the
        # few connections a steady load needs do all the work, so each statement is
        # prepared on those few, not on every connection the pool ever opened.
        kwargs = {
            "pool_size": 20,
            "max_overflow": 10,
            "pool_recycle": 3600,
            "pool_use_lifo": True,
        }
    elif url.startswith("sqlite+aiosqlite://"):
        kwargs = {"connect_args": {"timeout": 30}}
    else:
        raise ConfigurationError(f"unsupported database URL {url!r} (use sqlite or postgresql)")
    try:
        engine = create_async_engine(url, **kwargs)
    except (ArgumentError, ValueError) as exc:
        raise ConfigurationError(f"bad database URL {url!r}: {exc}") from exc
    if is_sqlite(engine):
        _configure_sqlite(engine, readonly)
    return engine


def create_sqlite_engine(url: str, *, readonly: bool, busy_timeout: float = 30.0) -> Engine:
    """A synchronous stdlib-``sqlite3`` engine on the same file as the async ``url``.

    One connection per thread. ``busy_timeout`` is how long a statement waits for another
    connection's lock (0: fail at once with "database is locked").
    """
    path = url.split("://", 1)[1]
    engine = create_sync_engine(
        "sqlite://" + path,
        poolclass=SingletonThreadPool,
        connect_args={"timeout": busy_timeout, "check_same_thread": False},
    )
    _configure_sqlite(engine, readonly, busy_timeout)
    return engine


def _configure_sqlite(
    engine: AsyncEngine | Engine, readonly: bool, busy_timeout: float = 30.0
) -> None:
    sync_engine = engine.sync_engine if isinstance(engine, AsyncEngine) else engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_conn: DBAPIConnection, record: ConnectionPoolEntry) -> None:
        # Take transaction control away from the driver so "begin" below decides.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # WAL + NORMAL: a commit is atomic and consistent; only the last transactions
        # before an OS crash or power loss may be lost (never corrupted).
        cursor.execute("PRAGMA synchronous=NORMAL")
        if readonly:
            cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    begin = "BEGIN" if readonly else "BEGIN IMMEDIATE"
    if isinstance(engine, Engine):
        # The sync engines run a transaction per read and per write batch: the stdlib
        # driver's own execute() costs a few microseconds, where the "begin" event's
        # exec_driver_sql built a whole execution context (an eighth of a job read).
        # Errors still come back wrapped (OperationalError), as from any statement.
        def _do_begin(dbapi_conn: Any) -> None:
            dbapi_conn.execute(begin)

        engine.dialect.do_begin = _do_begin  # type: ignore[method-assign,assignment]
        return

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql(begin)


def _alembic(sync_conn: Connection, revision: str, down: bool) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = sync_conn
    (command.downgrade if down else command.upgrade)(cfg, revision)


async def migrate(engine: AsyncEngine, revision: str = "head", *, down: bool = False) -> None:
    """Apply the Alembic migrations up to ``revision`` (or back to it with ``down``).

    Safe with several workers starting at once (PostgreSQL advisory lock).
    Raises ConfigurationError when the database cannot be reached or migrated.
    """
    pg = engine.dialect.name == "postgresql"
    try:
        async with engine.connect() as conn:
            if pg:
                await conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATION_LOCK})
                await conn.commit()
            try:
                await conn.run_sync(_alembic, revision, down)
                await conn.commit()
            finally:
                if pg:
                    await conn.execute(
                        text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATION_LOCK}
                    )
                    await conn.commit()
    except (SQLAlchemyError, OSError) as exc:
        raise ConfigurationError(f"cannot migrate {engine.url!r}: {exc}") from exc
