"""SQLite's single writer: whole transactions as synchronous units, grouped commits.

A write transaction is a synchronous function (a *unit*) given a Connection. Units are
run in batches: ONE ``BEGIN IMMEDIATE ... COMMIT`` for the batch and, when it holds more
than one, a SAVEPOINT per unit, so a unit that raises is rolled back alone and its caller
gets the exception while the others commit. Results are delivered only after the COMMIT
succeeded (a failed COMMIT fails every unit of the batch), so no caller ever sees an
uncommitted outcome.

Where a batch runs:

- :meth:`SQLiteWriter.run_here` - on the calling thread (the node's event loop), with a
  connection that never waits for the lock (busy timeout 0). In a node that is the only
  writer of its file - the default, one process - the lock is always free, the batch is
  every unit queued during one event-loop iteration, and the lock is held for the
  milliseconds its statements take. No thread hop at all: measured on a loaded 2-core
  machine, handing each transaction to a thread cost more than the transaction itself
  (``sqlite3`` releases the GIL around every statement, and each re-acquire waits for the
  other thread to be scheduled), and under load that handoff latency made the writes
  queue up.
- :meth:`SQLiteWriter.submit` - the writer thread, whose connection waits up to 30 s for
  the lock. A batch goes there when ``run_here`` finds the lock taken by someone else
  (another worker process on the same file, ``aitbc keys create``, a session from
  ``Node.transaction``), so the event loop never blocks on another process's lock.

Why not the async driver: holding the write lock across awaited round trips to
aiosqlite's thread (one hop per cursor call, ~0.2 ms CPU each, the lock held for
hops x event-loop latency) made throughput fall as concurrency rose.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError

from .database import create_sqlite_engine

log = logging.getLogger("aitbc.node")

#: Called with (True, value) or (False, exception) once the unit's fate is sealed.
Deliver = Callable[[bool, Any], None]
UnitFn = Callable[[Connection], Any]


@dataclass(frozen=True)
class _Queued:
    fn: UnitFn
    loop: asyncio.AbstractEventLoop
    deliver: Deliver


class _LoneUnitFailed(Exception):
    """The only unit of a batch raised: the whole transaction is rolled back instead of a
    savepoint, and the unit's own exception is handed to its caller."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(str(cause))
        self.cause = cause


def _run_units(conn: Connection, fns: list[UnitFn]) -> list[tuple[bool, Any]]:
    """Run ``fns`` in ``conn``'s open transaction, each in its own savepoint.

    A batch of one needs no savepoint (SAVEPOINT and RELEASE were a tenth of a small
    write's CPU): if its unit raises, :class:`_LoneUnitFailed` makes the caller roll the
    whole transaction back, which undoes exactly what the savepoint would have.
    """
    if len(fns) == 1:
        try:
            return [(True, fns[0](conn))]
        except Exception as exc:
            raise _LoneUnitFailed(exc) from exc
    outcomes: list[tuple[bool, Any]] = []
    for fn in fns:
        savepoint = conn.begin_nested()
        try:
            value = fn(conn)
        except Exception as exc:  # handed to the unit's caller, never swallowed
            savepoint.rollback()
            outcomes.append((False, exc))
        else:
            savepoint.commit()
            outcomes.append((True, value))
    return outcomes


def _is_locked(exc: OperationalError) -> bool:
    return "locked" in str(exc.orig) or "busy" in str(exc.orig)


class SQLiteWriter:
    """The writing side of one node process on one SQLite file."""

    def __init__(self, database_url: str, max_batch: int = 64) -> None:
        self._waiting = create_sqlite_engine(database_url, readonly=False)
        self._eager = create_sqlite_engine(database_url, readonly=False, busy_timeout=0)
        self._here: Connection | None = None
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Queued | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        #: Commits and units so far (units / commits = how much grouping happened).
        self.commits = 0
        self.units = 0
        #: Batches handed to the writer thread because the lock was taken.
        self.deferred = 0

    def run_here(self, batch: list[tuple[UnitFn, Deliver]]) -> bool:
        """Run ``batch`` now on this thread and deliver; False (nothing run, nothing
        delivered) when another connection holds the write lock."""
        if self._here is None:
            self._here = self._eager.connect()
        conn = self._here
        try:
            transaction = conn.begin()
        except OperationalError as exc:
            if _is_locked(exc):
                self.deferred += 1
                return False
            outcomes: list[tuple[bool, Any]] = [(False, exc)] * len(batch)
        else:
            try:
                outcomes = _run_units(conn, [fn for fn, _ in batch])
                transaction.commit()
                self.commits += 1
            except _LoneUnitFailed as failed:
                with contextlib.suppress(Exception):
                    transaction.rollback()
                outcomes = [(False, failed.cause)]
            except Exception as exc:  # nothing of the batch is kept
                log.warning("sqlite write batch of %d failed: %s", len(batch), exc)
                with contextlib.suppress(Exception):
                    transaction.rollback()
                outcomes = [(False, exc)] * len(batch)
        self.units += len(batch)
        for (_, deliver), (ok, payload) in zip(batch, outcomes, strict=True):
            deliver(ok, payload)
        return True

    def submit(self, fn: UnitFn, loop: asyncio.AbstractEventLoop, deliver: Deliver) -> None:
        """Queue ``fn`` for the writer thread; ``deliver`` is called on ``loop``."""
        self._ensure_thread()
        self._queue.put(_Queued(fn, loop, deliver))

    def close(self) -> None:
        """Finish the queued units, stop the thread, release both connections."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join()
        if self._here is not None:
            self._here.close()
            self._here = None
        self._eager.dispose()
        self._waiting.dispose()

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="aitbc-sqlite-writer", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        with self._waiting.connect() as conn:
            stopping = False
            while not stopping:
                first = self._queue.get()
                if first is None:
                    break
                batch = [first]
                while len(batch) < self._max_batch:
                    try:
                        nxt = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if nxt is None:
                        stopping = True
                        break
                    batch.append(nxt)
                self._run_batch(conn, batch)

    def _run_batch(self, conn: Connection, batch: list[_Queued]) -> None:
        try:
            with conn.begin():
                outcomes = _run_units(conn, [unit.fn for unit in batch])
            self.commits += 1
        except _LoneUnitFailed as failed:  # rolled back by the context manager
            outcomes = [(False, failed.cause)]
        except Exception as exc:  # BEGIN or COMMIT failed: nothing of the batch is kept
            log.warning("sqlite write batch of %d failed: %s", len(batch), exc)
            outcomes = [(False, exc)] * len(batch)
        self.units += len(batch)
        for unit, (ok, payload) in zip(batch, outcomes, strict=True):
            # The submitter's loop may be gone (its task was cancelled at shutdown).
            with contextlib.suppress(RuntimeError):
                unit.loop.call_soon_threadsafe(unit.deliver, ok, payload)
