"""Job state transitions, each a compare-and-set UPDATE on the job row.

An UPDATE that matches no row means another transaction (a miner, the client, another
worker's sweeper) changed the job first; callers re-read and decide. Because every
transition checks the state it starts from, several workers can sweep at once safely.
Everything here runs inside a unit of work (:meth:`aitbc.node.runtime.Node.write`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Connection, Row, and_, bindparam, or_, select, update

from ..clock import utcnow
from ..raw_sql import RawStatement
from ..tables import JOBS
from . import ledger
from .wire import job_wire

if TYPE_CHECKING:
    from ..runtime import Node, WriteTx

log = logging.getLogger("aitbc.node")

OPEN = ("QUEUED", "RUNNING")
TERMINAL = ("COMPLETED", "FAILED", "CANCELED", "EXPIRED")
EVENT_FOR_STATE = {
    "QUEUED": "job.requeued",
    "RUNNING": "job.running",
    "COMPLETED": "job.completed",
    "FAILED": "job.failed",
    "CANCELED": "job.canceled",
    "EXPIRED": "job.expired",
}

JobRecord = Row[Any]
#: Every client poll reads this: on SQLite it skips SQLAlchemy's execution machinery.
_JOB_BY_ID = RawStatement(select(JOBS).where(JOBS.c.id == bindparam("job_id")))


def load_job(conn: Connection, job_id: str) -> JobRecord | None:
    """The job row (attribute access by column name), or None."""
    job: JobRecord | None = _JOB_BY_ID.first(conn, job_id=job_id)
    return job


def emit_job(tx: WriteTx, job: JobRecord, event: str) -> dict[str, Any]:
    """Emit ``event`` for ``job`` on its own topic and its client's; return the Job."""
    wire = job_wire(job)
    tx.emit(f"job:{job.id}", event, wire)
    tx.emit(f"jobs:{job.client_id}", event, wire)
    return wire


def cas(
    tx: WriteTx, job_id: str, guard: list[ColumnElement[bool]], **values: Any
) -> JobRecord | None:
    """Apply ``values`` to the job iff ``guard`` holds; the updated row, or None if lost.

    Emits the event of the new state when the update wins.
    """
    stmt = (
        update(JOBS)
        .where(JOBS.c.id == job_id, *guard)
        .values(updated_at=tx.now, **values)
        .returning(*JOBS.c)
    )
    job = tx.conn.execute(stmt).first()
    if job is not None:
        emit_job(tx, job, EVENT_FOR_STATE[job.state])
    return job


class PreparedCas:
    """A :func:`cas` of one fixed shape, compiled once: the hot transitions (a miner's
    claim, its result) skip building the UPDATE and its cache key on every call, and on
    SQLite run on the driver's cursor (:class:`~aitbc.node.raw_sql.RawStatement`).

    ``guard`` compares columns with named bind parameters (their values are ``fixed``
    here or given per call); ``columns`` are the columns the transition sets (besides
    ``updated_at``), given per call by name.
    """

    def __init__(
        self, guard: Sequence[ColumnElement[bool]], columns: Sequence[str], **fixed: Any
    ) -> None:
        sets = {
            name: bindparam(f"set_{name}", type_=JOBS.c[name].type)
            for name in ("updated_at", *columns)
        }
        self._statement = RawStatement(
            update(JOBS)
            .where(JOBS.c.id == bindparam("target"), *guard)
            .values(**sets)
            .returning(*JOBS.c)
        )
        self._columns = frozenset(columns)
        self._fixed = fixed

    def __call__(
        self, tx: WriteTx, job_id: str, guard: Mapping[str, Any] | None = None, **values: Any
    ) -> JobRecord | None:
        """Like :func:`cas`: the updated row (its event emitted), or None if lost."""
        if values.keys() != self._columns:
            raise TypeError(f"set exactly {sorted(self._columns)}, got {sorted(values)}")
        params = {f"set_{name}": value for name, value in values.items()}
        job: JobRecord | None = self._statement.first(
            tx.conn, target=job_id, set_updated_at=tx.now, **self._fixed, **(guard or {}), **params
        )
        if job is not None:
            emit_job(tx, job, EVENT_FOR_STATE[job.state])
        return job


def refund(tx: WriteTx, job: JobRecord) -> None:
    """Return the escrowed price of ``job`` to its client."""
    if job.price:
        ledger.move(tx, ledger.ESCROW, job.client_id, job.price, "refund", job_id=job.id)


def close_with_refund(
    tx: WriteTx, job: JobRecord, state: str, guard: list[ColumnElement[bool]], **values: Any
) -> JobRecord | None:
    """Move an open job to a terminal ``state`` and refund it, atomically."""
    done = cas(
        tx,
        job.id,
        [JOBS.c.state.in_(OPEN), *guard],
        state=state,
        lease_expires_at=None,
        **values,
    )
    if done is not None:
        refund(tx, done)
    return done


def is_due(job: JobRecord, now: datetime) -> bool:
    """True when ``job``'s ttl or lease has run out but no transition recorded it yet."""
    if job.state not in OPEN:
        return False
    lease_over = job.lease_expires_at is not None and job.lease_expires_at <= now
    return bool(job.expires_at <= now or (job.state == "RUNNING" and lease_over))


def apply_due(tx: WriteTx, job: JobRecord) -> JobRecord:
    """Expire or requeue ``job`` if its ttl or lease ran out; return the current row.

    Called lazily wherever a job is read for an action, and by the sweeper.
    """
    if not is_due(job, tx.now):
        return job
    if job.expires_at <= tx.now:
        done = close_with_refund(
            tx, job, "EXPIRED", [JOBS.c.expires_at <= tx.now], error="ttl expired"
        )
        return done or _reload(tx, job.id)
    return _lease_expired(tx, job) or _reload(tx, job.id)


def _lease_expired(tx: WriteTx, job: JobRecord) -> JobRecord | None:
    guard = [
        JOBS.c.state == "RUNNING",
        JOBS.c.miner_id == job.miner_id,
        JOBS.c.lease_expires_at <= tx.now,
    ]
    attempts = job.attempts + 1
    if attempts >= tx.settings.max_attempts:
        return close_with_refund(
            tx,
            job,
            "FAILED",
            guard,
            attempts=attempts,
            error=f"lease expired {attempts} times",
        )
    return cas(
        tx,
        job.id,
        guard,
        state="QUEUED",
        miner_id=None,
        lease_expires_at=None,
        attempts=attempts,
    )


def _reload(tx: WriteTx, job_id: str) -> JobRecord:
    job = load_job(tx.conn, job_id)
    assert job is not None  # jobs are never deleted
    return job


def lease_until(tx: WriteTx) -> Any:
    return tx.now + timedelta(seconds=tx.settings.lease_seconds)


def due_filter(now: datetime) -> ColumnElement[bool]:
    """Jobs whose ttl or lease has run out at ``now``."""
    return or_(
        and_(JOBS.c.state.in_(OPEN), JOBS.c.expires_at <= now),
        and_(JOBS.c.state == "RUNNING", JOBS.c.lease_expires_at <= now),
    )


def _sweep_one(tx: WriteTx, *, job_id: str) -> bool:
    job = load_job(tx.conn, job_id)
    if job is None:
        return False
    after = apply_due(tx, job)
    return bool((after.state, after.attempts) != (job.state, job.attempts))


async def sweep(node: Node, limit: int = 100) -> int:
    """Expire and requeue every due job (up to ``limit``); return how many changed.

    Each job is handled in its own unit, so one slow job never holds locks on others,
    and a job another worker handles first is simply skipped.
    """
    now = utcnow()
    stmt = select(JOBS.c.id).where(due_filter(now)).limit(limit)
    ids = await node.read(lambda conn: list(conn.execute(stmt).scalars()))
    changed = 0
    for job_id in ids:
        changed += await node.write(partial(_sweep_one, job_id=job_id))
    return changed
