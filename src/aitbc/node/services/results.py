"""A miner finishes a job: result with attestation (receipt + payout) or failure (refund).

Both are accepted only from the lease holder while the job is RUNNING and its lease
valid: the compare-and-set guard is the same one the sweeper's requeue uses, so a late
result and a requeue can never both win.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, bindparam, insert, select

from ...core.canonical import canonical_json, content_hash
from ...core.receipts import miner_claim, sign_receipt
from ...core.signing import ALG, VerifyKey
from ...errors import ConfigurationError
from ..clock import iso, new_id
from ..problems import NodeProblem, conflict, invalid, not_found
from ..raw_sql import RawStatement
from ..schemas import JobFail, JobResult
from ..tables import JOBS, MINERS, RECEIPTS
from . import blobs, ledger, outputs, pricing
from .principals import Principal
from .transitions import (
    TERMINAL,
    JobRecord,
    PreparedCas,
    apply_due,
    cas,
    close_with_refund,
    load_job,
)
from .wire import job_wire

if TYPE_CHECKING:
    from ..runtime import Node, WriteTx

_MINER = RawStatement(select(MINERS).where(MINERS.c.principal_id == bindparam("miner_id")))
_INSERT_RECEIPT = insert(RECEIPTS)


def held_job(tx: WriteTx, principal: Principal, job_id: str) -> JobRecord:
    """The RUNNING job this miner holds under a valid lease, or the right 404/409."""
    if principal.role != "miner":
        raise NodeProblem(403, "forbidden", "only the miner holding the job may do this")
    job = load_job(tx.conn, job_id)
    if job is None:
        raise not_found("job_not_found", "job", job_id)
    job = apply_due(tx, job)
    if job.state in TERMINAL:
        raise conflict("invalid_state", f"job {job_id} is {job.state}")
    if job.state != "RUNNING" or job.miner_id != principal.id:
        raise conflict("lease_lost", f"job {job_id} is not held by you")
    return job


def _holder_guard(tx: WriteTx, principal: Principal) -> list[ColumnElement[bool]]:
    return [
        JOBS.c.state == "RUNNING",
        JOBS.c.miner_id == principal.id,
        JOBS.c.lease_expires_at > tx.now,
    ]


#: RUNNING -> COMPLETED, guarded as :func:`_holder_guard` (``holder``, ``now`` per call).
_COMPLETE = PreparedCas(
    [
        JOBS.c.state == bindparam("held_state"),
        JOBS.c.miner_id == bindparam("holder"),
        JOBS.c.lease_expires_at > bindparam("now"),
    ],
    ["state", "result", "receipt_id", "lease_expires_at"],
    held_state="RUNNING",
)


def _claim_fields(tx: WriteTx, job: JobRecord, req: JobResult) -> dict[str, Any]:
    try:
        output_hash = content_hash(req.result)
    except ConfigurationError as exc:
        raise invalid(str(exc), ["body", "result"]) from exc
    return {
        "job_id": job.id,
        "input_hash": job.input_hash,
        "output_hash": output_hash,
        "units": req.units,
        "price": str(job.price),
        "chain_id": tx.settings.chain_id,
        "coordinator_id": tx.node.coordinator_id,
        "miner_id": job.miner_id,
    }


def _check_attestation(miner: Any, claim: dict[str, Any], req: JobResult) -> None:
    att = req.attestation
    key = VerifyKey.from_b64(miner.public_key)
    ok = att.alg == ALG and att.key_id == key.key_id
    if not ok or not key.verify(att.sig, canonical_json(miner_claim(claim))):
        raise NodeProblem(
            422,
            "bad_signature",
            "attestation does not verify against your registered key over the claim "
            "{job_id, input_hash, output_hash, units, price, chain_id, coordinator_id, "
            "miner_id}",
        )


def _build_receipt(
    tx: WriteTx,
    job: JobRecord,
    miner: Any,
    claim: dict[str, Any],
    req: JobResult,
    charge: dict[str, Any],
) -> dict[str, Any]:
    body = {
        "receipt_id": new_id("rcpt"),
        "version": 1,
        **claim,
        **charge,
        "client_id": job.client_id,
        "job_type": job.job_type,
        "nonce": secrets.token_hex(16),
        "created_at": iso(job.created_at),
        "started_at": iso(job.started_at),
        "completed_at": iso(tx.now),
        "miner_key": miner.public_key,
        "attestations": [{"role": "miner", **req.attestation.model_dump()}],
    }
    return sign_receipt(tx.node.signing_key, body)


def _settle(tx: WriteTx, job: JobRecord, receipt: dict[str, Any]) -> None:
    """Store the receipt, pay the miner from escrow and announce the receipt."""
    assert job.miner_id is not None
    tx.conn.execute(
        _INSERT_RECEIPT,
        {
            "id": receipt["receipt_id"],
            "job_id": job.id,
            "client_id": job.client_id,
            "miner_id": job.miner_id,
            "body": receipt,
            "created_at": tx.now,
        },
    )
    if "charged" in receipt:  # per-unit terms: pay what was used, refund the rest
        pricing.settle(tx, job, int(receipt["charged"]))
    elif job.price:
        ledger.move(tx, ledger.ESCROW, job.miner_id, job.price, "payout", job_id=job.id)
    tx.emit(f"receipts:{job.client_id}", "receipt.issued", receipt)


def _complete(tx: WriteTx, principal: Principal, job_id: str, req: JobResult) -> dict[str, Any]:
    job = held_job(tx, principal, job_id)
    miner = _MINER.first(tx.conn, miner_id=principal.id)
    if miner is None:
        raise conflict("miner_not_registered", "register with /v1/miners/register first")
    blobs.attach(tx, principal, job.id, req.result, "output")
    outputs.check_result(tx, job, req.result)
    claim = _claim_fields(tx, job, req)
    _check_attestation(miner, claim, req)
    charge = pricing.charge_for_result(tx, job, req.units)
    receipt = _build_receipt(tx, job, miner, claim, req, charge)
    done = _COMPLETE(
        tx,
        job.id,
        {"holder": principal.id, "now": tx.now},
        state="COMPLETED",
        result=req.result,
        receipt_id=receipt["receipt_id"],
        lease_expires_at=None,
    )
    if done is None:
        raise conflict("lease_lost", f"job {job_id} is no longer held by you")
    _settle(tx, done, receipt)
    return {"job": job_wire(done), "receipt": receipt}


async def submit_result(
    node: Node, principal: Principal, job_id: str, req: JobResult
) -> dict[str, Any]:
    """Complete a held job: verify the attestation, sign the receipt, pay the miner.

    Returns ``{"job", "receipt"}``. Raises 422 bad_signature, 409 lease_lost or
    invalid_state, 404 job_not_found.
    """
    return await node.write(lambda tx: _complete(tx, principal, job_id, req))


def _fail(tx: WriteTx, principal: Principal, job_id: str, req: JobFail) -> dict[str, Any]:
    job = held_job(tx, principal, job_id)
    guard = _holder_guard(tx, principal)
    owed = pricing.charge_for_failure(tx, job)
    if owed:  # streamed units were delivered: charged, the rest refunded
        done = cas(tx, job.id, guard, state="FAILED", lease_expires_at=None, error=req.error)
        if done is not None:
            pricing.settle(tx, done, owed)
    else:
        done = close_with_refund(tx, job, "FAILED", guard, error=req.error)
    if done is None:
        raise conflict("lease_lost", f"job {job_id} is no longer held by you")
    return job_wire(done)


async def fail_job(node: Node, principal: Principal, job_id: str, req: JobFail) -> dict[str, Any]:
    """The holder gives up: the job is FAILED and the client refunded."""
    return await node.write(lambda tx: _fail(tx, principal, job_id, req))
