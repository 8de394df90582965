"""Jobs and receipts, as clients (and admins, and holding miners) see them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from ..auth import NodeDep, PrincipalDep
from ..schemas import JobCreate
from ..services import jobs, receipts
from . import Cursor, IdempotencyKey, Limit, created_or_replayed

router = APIRouter(prefix="/v1")


@router.post("/jobs", status_code=201)
async def create_job(
    req: JobCreate,
    response: Response,
    node: NodeDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    job, replayed = await jobs.create_job(node, principal, req, idempotency_key)
    created_or_replayed(response, replayed)
    return job


@router.get("/jobs")
async def list_jobs(
    node: NodeDep,
    principal: PrincipalDep,
    limit: Limit = 50,
    cursor: Cursor = None,
    state: Annotated[str | None, Query(max_length=16)] = None,
) -> dict[str, Any]:
    return await jobs.list_jobs(node, principal, state, limit, cursor)


@router.get("/jobs/{job_id}")
async def get_job(job_id: str, node: NodeDep, principal: PrincipalDep) -> dict[str, Any]:
    return await jobs.get_job(node, principal, job_id)


@router.post("/jobs/{job_id}/cancel")
async def cancel_job(job_id: str, node: NodeDep, principal: PrincipalDep) -> dict[str, Any]:
    return await jobs.cancel_job(node, principal, job_id)


@router.get("/jobs/{job_id}/result")
async def job_result(job_id: str, node: NodeDep, principal: PrincipalDep) -> dict[str, Any]:
    return await jobs.job_result(node, principal, job_id)


@router.get("/receipts/{receipt_id}")
async def get_receipt(receipt_id: str, node: NodeDep, principal: PrincipalDep) -> dict[str, Any]:
    return await receipts.get_receipt(node, principal, receipt_id)
