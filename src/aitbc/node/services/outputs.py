"""Streamed job output: ordered, idempotent ``job.output`` events on the job's topic.

The holding miner posts chunks with the index of the first one. A retry that repeats
chunks already recorded is accepted and skips them, so chunks are recorded exactly once
and in order; a batch that would leave a hole is refused (409 output_gap). Each chunk is
one ``job.output`` event ``{"job_id", "index", "chunk"}`` on ``job:{id}``, readable and
resumable like every event, also after the job failed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, bindparam, insert, select, update

from ...core.output import GENESIS, OUTPUT_KEY, chain_next, summary
from ...errors import ConfigurationError
from ..models import JobOutputRow
from ..problems import NodeProblem, conflict, invalid
from ..raw_sql import RawStatement
from ..tables import JOBS
from .principals import Principal
from .transitions import is_due

if TYPE_CHECKING:
    from ..runtime import Node, WriteTx
    from .transitions import JobRecord

JOB_OUTPUTS = cast(Table, JobOutputRow.__table__)
# Every output post runs these: compiled once, on SQLite through the driver's cursor.
_PROGRESS = RawStatement(
    select(JOB_OUTPUTS.c.chunks, JOB_OUTPUTS.c.chain).where(
        JOB_OUTPUTS.c.job_id == bindparam("job_id")
    )
)
_INSERT_PROGRESS = RawStatement(insert(JOB_OUTPUTS), ["job_id", "chunks", "chain"])
#: What deciding "held by this miner, nothing due" needs: not the payload (a long prompt
#: would be decoded again for every post of its answer).
_HOLDING = RawStatement(
    select(
        JOBS.c.id, JOBS.c.state, JOBS.c.miner_id, JOBS.c.expires_at, JOBS.c.lease_expires_at
    ).where(JOBS.c.id == bindparam("job_id"))
)
_UPDATE_PROGRESS = RawStatement(
    update(JOB_OUTPUTS)
    .where(JOB_OUTPUTS.c.job_id == bindparam("target"))
    .values(chunks=bindparam("chunks"), chain=bindparam("chain"))
)


async def record(
    node: Node, principal: Principal, job_id: str, start: int, chunks: list[dict[str, Any]]
) -> dict[str, Any]:
    """Append ``chunks`` (the first has index ``start``); return the output summary.

    Raises 409 output_gap when ``start`` is beyond what was recorded, the holder errors
    of :func:`results.held_job`, 422 when a chunk is not canonical JSON.
    """
    return await node.write(lambda tx: _record(tx, principal, job_id, start, chunks))


def _record(
    tx: WriteTx, principal: Principal, job_id: str, start: int, chunks: list[dict[str, Any]]
) -> dict[str, Any]:
    job = _held(tx, principal, job_id)
    row = _PROGRESS.first(tx.conn, job_id=job.id)
    count, chain = (int(row.chunks), str(row.chain)) if row else (0, GENESIS)
    if start > count:
        raise conflict("output_gap", f"{count} chunks recorded; got index {start}")
    skipped = count - start  # a retry may repeat chunks already recorded
    for offset, chunk in enumerate(chunks[skipped:]):
        try:
            chain = chain_next(chain, chunk)
        except ConfigurationError as exc:
            raise invalid(str(exc), ["body", "chunks", skipped + offset]) from exc
        tx.emit(f"job:{job.id}", "job.output", {"job_id": job.id, "index": count, "chunk": chunk})
        count += 1
    progress = {"chunks": count, "chain": chain}
    if row is None:
        _INSERT_PROGRESS.many(tx.conn, [{"job_id": job.id, **progress}])
    elif count != row.chunks:
        _UPDATE_PROGRESS.rowcount(tx.conn, target=job.id, **progress)
    return summary(count, chain)


def _held(tx: WriteTx, principal: Principal, job_id: str) -> JobRecord:
    """The job, when this miner holds it and nothing about it is due (the common case,
    read without the payload); else :func:`results.held_job` decides, with its errors and
    the lazy expiry."""
    from .results import held_job  # results imports this module

    if principal.role == "miner":
        job: JobRecord | None = _HOLDING.first(tx.conn, job_id=job_id)
        mine = job is not None and job.state == "RUNNING" and job.miner_id == principal.id
        if mine and job is not None and not is_due(job, tx.now):
            return job
    return held_job(tx, principal, job_id)


def check_result(tx: WriteTx, job: JobRecord, result: Any) -> None:
    """A streamed job's result must summarise exactly the recorded chunks (422
    output_mismatch otherwise); a job that streamed nothing may still carry none."""
    row = _PROGRESS.first(tx.conn, job_id=job.id)
    claimed = result.get(OUTPUT_KEY) if isinstance(result, dict) else None
    if row is None and claimed is None:
        return
    recorded = summary(row.chunks, row.chain) if row else summary(0, GENESIS)
    if claimed != recorded:
        raise NodeProblem(
            422,
            "output_mismatch",
            f"result.{OUTPUT_KEY} must be {recorded} (the chunks this node recorded)",
        )
