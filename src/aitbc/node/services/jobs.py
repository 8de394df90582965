"""Jobs as clients see them: create (with escrow), read, list, cancel, fetch results."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, insert, select

from ...core.canonical import content_hash
from ...errors import ConfigurationError
from ..clock import new_id, utcnow
from ..models import JobRow
from ..problems import NodeProblem, conflict, forbidden, invalid, not_found
from ..raw_sql import RawStatement
from ..schemas import JobCreate
from ..tables import JOB_MODELS, JOBS, RECEIPTS
from . import blobs, ledger, pricing
from .idempotency import run_idempotent
from .pagination import fetch_page
from .principals import Principal
from .transitions import TERMINAL, JobRecord, apply_due, close_with_refund, emit_job, is_due
from .transitions import load_job as _load
from .wire import job_wire

if TYPE_CHECKING:
    from ..runtime import Node, WriteTx

STATES = ("QUEUED", "RUNNING", *TERMINAL)
_INSERT_JOB = RawStatement(insert(JOBS).returning(*JOBS.c), [c.key for c in JOBS.c])
_INSERT_MODELS = insert(JOB_MODELS)
_RECEIPT_BODY = select(RECEIPTS.c.body).where(RECEIPTS.c.job_id == bindparam("job_id"))


def _input_hash(payload: Any) -> str:
    try:
        return content_hash(payload)
    except ConfigurationError as exc:
        raise invalid(str(exc), ["body", "payload"]) from exc


def _insert_job(tx: WriteTx, client: Principal, req: JobCreate) -> dict[str, Any]:
    pricing.check_terms(req.price, req.pricing)
    ttl = req.ttl_seconds or tx.settings.default_ttl_seconds
    constraints = req.constraints
    values = {
        "id": new_id("job"),
        "client_id": client.id,
        "job_type": req.job_type,
        "payload": req.payload,
        "input_hash": _input_hash(req.payload),
        "constraints": {
            "models": constraints.models,
            "min_gpu_memory_gb": constraints.min_gpu_memory_gb,
            "region": constraints.region,
            "max_price": None if constraints.max_price is None else str(constraints.max_price),
        },
        "min_gpu_memory_gb": constraints.min_gpu_memory_gb,
        "region": constraints.region,
        "max_price": constraints.max_price,
        "price": req.price,
        "state": "QUEUED",
        "miner_id": None,
        "attempts": 0,
        "ttl_seconds": ttl,
        "created_at": tx.now,
        "updated_at": tx.now,
        "expires_at": tx.now + timedelta(seconds=ttl),
        "started_at": None,
        "lease_expires_at": None,
        "error": None,
        "result": None,
        "receipt_id": None,
    }
    job = _INSERT_JOB.one(tx.conn, **values)
    models = sorted(set(constraints.models))
    if models:
        tx.conn.execute(_INSERT_MODELS, [{"job_id": job.id, "model": m} for m in models])
    blobs.attach(tx, client, job.id, req.payload, "input")  # 404 before escrow
    pricing.record_terms(tx, job.id, req.pricing)
    if req.price:
        ledger.move(tx, client.id, ledger.ESCROW, req.price, "escrow", job_id=job.id)
    return emit_job(tx, job, "job.created")


async def create_job(
    node: Node, client: Principal, req: JobCreate, idempotency_key: str | None
) -> tuple[dict[str, Any], bool]:
    """Create a job and escrow its price; return (Job, replayed).

    Raises 403 for non-clients, 402 insufficient_funds, 409 idempotency_key_reused.
    """
    if client.role != "client":
        raise forbidden("only clients create jobs")

    def create(tx: WriteTx) -> dict[str, Any]:
        return _insert_job(tx, client, req)

    async def load(node: Node, job_id: str) -> dict[str, Any]:
        return await get_job(node, client, job_id)

    body = req.model_dump(mode="json")
    return await run_idempotent(node, client.id, "jobs", idempotency_key, body, create, load)


def can_see(principal: Principal, job: JobRecord) -> bool:
    if principal.role == "admin":
        return True
    if principal.role == "client":
        return bool(job.client_id == principal.id)
    return bool(job.miner_id == principal.id)


def visible_job(tx: WriteTx, principal: Principal, job_id: str) -> JobRecord:
    """The job, after lazy expiry checks; 404 job_not_found if absent or not visible."""
    job = _load(tx.conn, job_id)
    if job is None or not can_see(principal, job):
        raise not_found("job_not_found", "job", job_id)
    return apply_due(tx, job)


async def _current_job(node: Node, principal: Principal, job_id: str) -> JobRecord:
    """The visible job as of now: read without the write lock; only a job that is due for
    expiry or requeue goes through a write (and is returned after that transition)."""
    job = await node.read(lambda conn: _load(conn, job_id))
    if job is None or not can_see(principal, job):
        raise not_found("job_not_found", "job", job_id)
    if not is_due(job, utcnow()):
        return job
    return await node.write(lambda tx: visible_job(tx, principal, job_id))


async def get_job(node: Node, principal: Principal, job_id: str) -> dict[str, Any]:
    """The Job; 404 job_not_found when absent or not visible to ``principal``."""
    return job_wire(await _current_job(node, principal, job_id))


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


def _cancel(tx: WriteTx, principal: Principal, job_id: str) -> dict[str, Any]:
    job = visible_job(tx, principal, job_id)
    if job.state in TERMINAL:
        raise conflict("job_not_cancelable", f"job {job_id} is {job.state}")
    done = close_with_refund(tx, job, "CANCELED", [], error="canceled by client")
    if done is None:
        raise conflict("job_not_cancelable", f"job {job_id} changed state; retry")
    return job_wire(done)


async def cancel_job(node: Node, principal: Principal, job_id: str) -> dict[str, Any]:
    """Cancel an open job and refund it; 409 job_not_cancelable once terminal."""
    if principal.role == "miner":
        raise forbidden("miners cannot cancel jobs; report a failure instead")
    return await node.write(lambda tx: _cancel(tx, principal, job_id))


async def job_result(node: Node, principal: Principal, job_id: str) -> dict[str, Any]:
    """``{"job_id", "state", "result", "receipt"}``; 425 until COMPLETED, 409 if it never
    will be."""
    job = await _current_job(node, principal, job_id)
    if job.state in ("QUEUED", "RUNNING"):
        raise NodeProblem(425, "job_not_ready", f"job {job_id} is {job.state}")
    if job.state != "COMPLETED":
        raise conflict("invalid_state", f"job {job_id} is {job.state}; no result")
    receipt = await node.read(lambda conn: conn.execute(_RECEIPT_BODY, {"job_id": job.id}).scalar())
    return {"job_id": job.id, "state": job.state, "result": job.result, "receipt": receipt}
