"""Streamed job output: ordered, idempotent ``job.output`` events on the job's topic.

The holding miner posts chunks with the index of the first one. A retry that repeats
chunks already recorded is accepted and skips them, so chunks are recorded exactly once
and in order; a batch that would leave a hole is refused (409 output_gap). Each chunk is
one ``job.output`` event ``{"job_id", "index", "chunk"}`` on ``job:{id}``, readable and
resumable like every event, also after the job failed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...core.output import GENESIS, OUTPUT_KEY, chain_next, summary
from ...errors import ConfigurationError
from ..models import JobOutputRow, JobRow
from ..problems import NodeProblem, conflict, invalid
from .principals import Principal

if TYPE_CHECKING:
    from ..runtime import Node, Tx


async def record(
    node: Node, principal: Principal, job_id: str, start: int, chunks: list[dict[str, Any]]
) -> dict[str, Any]:
    """Append ``chunks`` (the first has index ``start``); return the output summary.

    Raises 409 output_gap when ``start`` is beyond what was recorded, the holder errors
    of :func:`results.held_job`, 422 when a chunk is not canonical JSON.
    """
    from .results import held_job  # results imports this module

    async with node.transaction() as tx:
        job = await held_job(tx, principal, job_id)
        row = await _progress(tx, job.id)
        if start > row.chunks:
            raise conflict("output_gap", f"{row.chunks} chunks recorded; got index {start}")
        for offset, chunk in enumerate(chunks[row.chunks - start :]):
            try:
                row.chain = chain_next(row.chain, chunk)
            except ConfigurationError as exc:
                raise invalid(str(exc), ["body", "chunks", offset]) from exc
            data = {"job_id": job.id, "index": row.chunks, "chunk": chunk}
            tx.emit(f"job:{job.id}", "job.output", data)
            row.chunks += 1
        return summary(row.chunks, row.chain)


async def _progress(tx: Tx, job_id: str) -> JobOutputRow:
    row = await tx.session.get(JobOutputRow, job_id)
    if row is None:
        row = JobOutputRow(job_id=job_id, chunks=0, chain=GENESIS)
        tx.session.add(row)
    return row


async def check_result(tx: Tx, job: JobRow, result: Any) -> None:
    """A streamed job's result must summarise exactly the recorded chunks (422
    output_mismatch otherwise); a job that streamed nothing may still carry none."""
    row = await tx.session.get(JobOutputRow, job.id)
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
