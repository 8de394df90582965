"""Job state transitions, each a compare-and-set UPDATE on the job row.

An UPDATE that matches no row means another transaction (a miner, the client, another
worker's sweeper) changed the job first; callers re-read and decide. Because every
transition checks the state it starts from, several workers can sweep at once safely.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, or_, select, update

from ..models import JobRow
from . import ledger
from .wire import job_wire

if TYPE_CHECKING:
    from ..runtime import Node, Tx

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


def emit_job(tx: Tx, job: JobRow, event: str) -> dict[str, Any]:
    """Emit ``event`` for ``job`` on its own topic and its client's; return the Job."""
    wire = job_wire(job)
    tx.emit(f"job:{job.id}", event, wire)
    tx.emit(f"jobs:{job.client_id}", event, wire)
    return wire


async def cas(
    tx: Tx, job_id: str, guard: list[ColumnElement[bool]], **values: Any
) -> JobRow | None:
    """Apply ``values`` to the job iff ``guard`` holds; the updated row, or None if lost.

    Emits the event of the new state when the update wins.
    """
    stmt = (
        update(JobRow)
        .where(JobRow.id == job_id, *guard)
        .values(updated_at=tx.now, **values)
        .returning(JobRow)
        .execution_options(populate_existing=True, synchronize_session=False)
    )
    job = (await tx.session.scalars(stmt)).one_or_none()
    if job is not None:
        emit_job(tx, job, EVENT_FOR_STATE[job.state])
    return job


async def refund(tx: Tx, job: JobRow) -> None:
    """Return the escrowed price of ``job`` to its client."""
    if job.price:
        await ledger.move(tx, ledger.ESCROW, job.client_id, job.price, "refund", job_id=job.id)


async def close_with_refund(
    tx: Tx, job: JobRow, state: str, guard: list[ColumnElement[bool]], **values: Any
) -> JobRow | None:
    """Move an open job to a terminal ``state`` and refund it, atomically."""
    done = await cas(
        tx,
        job.id,
        [JobRow.state.in_(OPEN), *guard],
        state=state,
        lease_expires_at=None,
        **values,
    )
    if done is not None:
        await refund(tx, done)
    return done


def is_due(job: JobRow, now: datetime) -> bool:
    """True when ``job``'s ttl or lease has run out but no transition recorded it yet."""
    if job.state not in OPEN:
        return False
    lease_over = job.lease_expires_at is not None and job.lease_expires_at <= now
    return job.expires_at <= now or (job.state == "RUNNING" and lease_over)


async def apply_due(tx: Tx, job: JobRow) -> JobRow:
    """Expire or requeue ``job`` if its ttl or lease ran out; return the current row.

    Called lazily wherever a job is read for an action, and by the sweeper.
    """
    if not is_due(job, tx.now):
        return job
    if job.expires_at <= tx.now:
        done = await close_with_refund(
            tx, job, "EXPIRED", [JobRow.expires_at <= tx.now], error="ttl expired"
        )
        return done or await _reload(tx, job.id)
    return await _lease_expired(tx, job) or await _reload(tx, job.id)


async def _lease_expired(tx: Tx, job: JobRow) -> JobRow | None:
    guard = [
        JobRow.state == "RUNNING",
        JobRow.miner_id == job.miner_id,
        JobRow.lease_expires_at <= tx.now,
    ]
    attempts = job.attempts + 1
    if attempts >= tx.settings.max_attempts:
        return await close_with_refund(
            tx,
            job,
            "FAILED",
            guard,
            attempts=attempts,
            error=f"lease expired {attempts} times",
        )
    return await cas(
        tx,
        job.id,
        guard,
        state="QUEUED",
        miner_id=None,
        lease_expires_at=None,
        attempts=attempts,
    )


async def _reload(tx: Tx, job_id: str) -> JobRow:
    stmt = select(JobRow).where(JobRow.id == job_id).execution_options(populate_existing=True)
    return (await tx.session.scalars(stmt)).one()


def lease_until(tx: Tx) -> Any:
    return tx.now + timedelta(seconds=tx.settings.lease_seconds)


def due_filter(tx: Tx) -> ColumnElement[bool]:
    """Jobs whose ttl or lease has run out."""
    return or_(
        and_(JobRow.state.in_(OPEN), JobRow.expires_at <= tx.now),
        and_(JobRow.state == "RUNNING", JobRow.lease_expires_at <= tx.now),
    )


async def sweep(node: Node, limit: int = 100) -> int:
    """Expire and requeue every due job (up to ``limit``); return how many changed.

    Each job is handled in its own short transaction, so one slow job never holds
    locks on others, and a job another worker handles first is simply skipped.
    """
    async with node.transaction() as tx:
        ids = list(await tx.session.scalars(select(JobRow.id).where(due_filter(tx)).limit(limit)))
    changed = 0
    for job_id in ids:
        async with node.transaction() as tx:
            job = await tx.session.get(JobRow, job_id)
            if job is None:
                continue
            before = (job.state, job.attempts)
            after = await apply_due(tx, job)
            changed += (after.state, after.attempts) != before
    return changed
