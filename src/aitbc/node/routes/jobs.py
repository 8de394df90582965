"""Jobs and receipts, as clients (and admins, and holding miners) see them."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ...models import Job, JobResult, JobState, Page, Receipt
from ..auth import NodeDep, PrincipalDep
from ..job_types import blocked_reason, require_known
from ..schemas import JobCreate
from ..services import jobs, receipts
from . import (
    AUTHENTICATED,
    Cursor,
    Id,
    IdempotencyKey,
    Limit,
    answer,
    created_or_replayed,
    errors,
    replay_docs,
)

router = APIRouter(prefix="/v1", responses=errors(*AUTHENTICATED))


@router.post(
    "/jobs",
    status_code=201,
    response_model=Job,
    responses={**replay_docs(Job), **errors(402, 409)},
)
async def create_job(
    req: JobCreate,
    node: NodeDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    if principal.role == "client":  # others get their 403 from the service
        await require_known(node, req.job_type)
    job, replayed = await jobs.create_job(node, principal, req, idempotency_key)
    return created_or_replayed(job, replayed)


@router.get("/jobs", response_model=Page[Job])
async def list_jobs(
    node: NodeDep,
    principal: PrincipalDep,
    limit: Limit = 50,
    cursor: Cursor = None,
    state: JobState | None = None,
) -> JSONResponse:
    wanted = None if state is None else state.value
    return answer(await jobs.list_jobs(node, principal, wanted, limit, cursor))


@router.get("/jobs/{job_id}", response_model=Job, responses=errors(404))
async def get_job(job_id: Id, node: NodeDep, principal: PrincipalDep) -> JSONResponse:
    job = await jobs.get_job(node, principal, job_id)
    return answer({**job, "blocked_reason": await blocked_reason(node, job)})


@router.post("/jobs/{job_id}/cancel", response_model=Job, responses=errors(404, 409))
async def cancel_job(job_id: Id, node: NodeDep, principal: PrincipalDep) -> JSONResponse:
    return answer(await jobs.cancel_job(node, principal, job_id))


@router.get("/jobs/{job_id}/result", response_model=JobResult, responses=errors(404, 409, 425))
async def job_result(job_id: Id, node: NodeDep, principal: PrincipalDep) -> JSONResponse:
    return answer(await jobs.job_result(node, principal, job_id))


@router.get("/receipts/{receipt_id}", response_model=Receipt, responses=errors(404))
async def get_receipt(receipt_id: Id, node: NodeDep, principal: PrincipalDep) -> JSONResponse:
    return answer(await receipts.get_receipt(node, principal, receipt_id))
