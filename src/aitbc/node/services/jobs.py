"""Jobs as clients see them: create (with escrow), read, list, cancel, fetch results."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ...core.canonical import content_hash
from ...errors import ConfigurationError
from ..clock import new_id, utcnow
from ..models import JobModelRow, JobRow, ReceiptRow
from ..problems import NodeProblem, conflict, forbidden, invalid, not_found
from ..schemas import JobCreate
from . import blobs, ledger, pricing
from .idempotency import run_idempotent
from .pagination import fetch_page
from .principals import Principal
from .transitions import TERMINAL, apply_due, close_with_refund, emit_job, is_due
from .wire import job_wire

if TYPE_CHECKING:
    from ..runtime import Node, Tx

STATES = ("QUEUED", "RUNNING", *TERMINAL)


def _input_hash(payload: Any) -> str:
    try:
        return content_hash(payload)
    except ConfigurationError as exc:
        raise invalid(str(exc), ["body", "payload"]) from exc


async def _insert_job(tx: Tx, client: Principal, req: JobCreate) -> dict[str, Any]:
    pricing.check_terms(req.price, req.pricing)
    ttl = req.ttl_seconds or tx.settings.default_ttl_seconds
    constraints = req.constraints
    job = JobRow(
        id=new_id("job"),
        client_id=client.id,
        job_type=req.job_type,
        payload=req.payload,
        input_hash=_input_hash(req.payload),
        constraints={
            "models": constraints.models,
            "min_gpu_memory_gb": constraints.min_gpu_memory_gb,
            "region": constraints.region,
            "max_price": None if constraints.max_price is None else str(constraints.max_price),
        },
        min_gpu_memory_gb=constraints.min_gpu_memory_gb,
        region=constraints.region,
        max_price=constraints.max_price,
        price=req.price,
        state="QUEUED",
        attempts=0,
        ttl_seconds=ttl,
        created_at=tx.now,
        updated_at=tx.now,
        expires_at=tx.now + timedelta(seconds=ttl),
    )
    tx.session.add(job)
    await tx.session.flush()
    for model in sorted(set(constraints.models)):
        tx.session.add(JobModelRow(job_id=job.id, model=model))
    await blobs.attach(tx, client, job.id, req.payload, "input")  # 404 before escrow
    pricing.record_terms(tx, job.id, req.pricing)
    if req.price:
        await ledger.move(tx, client.id, ledger.ESCROW, req.price, "escrow", job_id=job.id)
    return emit_job(tx, job, "job.created")


async def create_job(
    node: Node, client: Principal, req: JobCreate, idempotency_key: str | None
) -> tuple[dict[str, Any], bool]:
    """Create a job and escrow its price; return (Job, replayed).

    Raises 403 for non-clients, 402 insufficient_funds, 409 idempotency_key_reused.
    """
    if client.role != "client":
        raise forbidden("only clients create jobs")

    async def create(tx: Tx) -> dict[str, Any]:
        return await _insert_job(tx, client, req)

    async def load(node: Node, job_id: str) -> dict[str, Any]:
        return await get_job(node, client, job_id)

    body = req.model_dump(mode="json")
    return await run_idempotent(node, client.id, "jobs", idempotency_key, body, create, load)


def can_see(principal: Principal, job: JobRow) -> bool:
    if principal.role == "admin":
        return True
    if principal.role == "client":
        return job.client_id == principal.id
    return job.miner_id == principal.id


async def visible_job(tx: Tx, principal: Principal, job_id: str) -> JobRow:
    """The job, after lazy expiry checks; 404 job_not_found if absent or not visible."""
    job = await tx.session.get(JobRow, job_id)
    if job is None or not can_see(principal, job):
        raise not_found("job_not_found", "job", job_id)
    return await apply_due(tx, job)


async def get_job(node: Node, principal: Principal, job_id: str) -> dict[str, Any]:
    """The Job; 404 job_not_found when absent or not visible to ``principal``.

    Reads without the write lock; only a job that is due for expiry or requeue is
    written (and returned after that transition).
    """
    async with node.reads() as session:
        job = await session.get(JobRow, job_id)
    if job is None or not can_see(principal, job):
        raise not_found("job_not_found", "job", job_id)
    if not is_due(job, utcnow()):
        return job_wire(job)
    async with node.transaction() as tx:
        return job_wire(await visible_job(tx, principal, job_id))


async def list_jobs(
    node: Node, principal: Principal, state: str | None, limit: int, cursor: str | None
) -> dict[str, Any]:
    """Own jobs for clients, held jobs for miners, all jobs for admins; newest first."""
    if state is not None and state not in STATES:
        raise invalid(f"state must be one of {', '.join(STATES)}", ["query", "state"])
    stmt = select(JobRow)
    if principal.role == "client":
        stmt = stmt.where(JobRow.client_id == principal.id)
    elif principal.role == "miner":
        stmt = stmt.where(JobRow.miner_id == principal.id)
    if state is not None:
        stmt = stmt.where(JobRow.state == state)
    return await fetch_page(node, stmt, JobRow, limit, cursor, job_wire)


async def cancel_job(node: Node, principal: Principal, job_id: str) -> dict[str, Any]:
    """Cancel an open job and refund it; 409 job_not_cancelable once terminal."""
    if principal.role == "miner":
        raise forbidden("miners cannot cancel jobs; report a failure instead")
    async with node.transaction() as tx:
        job = await visible_job(tx, principal, job_id)
        if job.state in TERMINAL:
            raise conflict("job_not_cancelable", f"job {job_id} is {job.state}")
        done = await close_with_refund(tx, job, "CANCELED", [], error="canceled by client")
        if done is None:
            raise conflict("job_not_cancelable", f"job {job_id} changed state; retry")
        return job_wire(done)


async def job_result(node: Node, principal: Principal, job_id: str) -> dict[str, Any]:
    """``{"job_id", "state", "result", "receipt"}``; 425 until COMPLETED, 409 if it never
    will be."""
    async with node.transaction() as tx:
        job = await visible_job(tx, principal, job_id)
        if job.state in ("QUEUED", "RUNNING"):
            raise NodeProblem(425, "job_not_ready", f"job {job_id} is {job.state}")
        if job.state != "COMPLETED":
            raise conflict("invalid_state", f"job {job_id} is {job.state}; no result")
        receipt = await tx.session.scalar(
            select(ReceiptRow.body).where(ReceiptRow.job_id == job.id)
        )
        return {"job_id": job.id, "state": job.state, "result": job.result, "receipt": receipt}
