"""The miner API: register, heartbeat, long-poll claim, result, fail."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from ...models import Claim, Completion, Heartbeat, Job, Miner, OutputProgress
from ..auth import NodeDep, PrincipalDep
from ..schemas import JobFail, JobOutput, JobResult, MinerRegister, Poll
from ..services import miners, outputs, results
from . import AUTHENTICATED, Id, answer, errors

router = APIRouter(prefix="/v1/miners", responses=errors(*AUTHENTICATED))


@router.post("/register", response_model=Miner)
async def register(req: MinerRegister, node: NodeDep, principal: PrincipalDep) -> JSONResponse:
    return answer(await miners.register(node, principal, req))


@router.post("/heartbeat", response_model=Heartbeat, responses=errors(409))
async def heartbeat(node: NodeDep, principal: PrincipalDep) -> JSONResponse:
    return answer(await miners.heartbeat(node, principal))


@router.post(
    "/poll",
    response_model=Claim,
    responses={204: {"description": "No job arrived within `wait_seconds`"}, **errors(409)},
)
async def poll(
    request: Request, node: NodeDep, principal: PrincipalDep, req: Poll | None = None
) -> Response:
    miners.require_miner(principal)
    wait = req.wait_seconds if req is not None else 0.0
    claimed = await miners.poll(node, principal, wait, request.is_disconnected)
    return Response(status_code=204) if claimed is None else answer(claimed)


@router.post("/jobs/{job_id}/result", response_model=Completion, responses=errors(404, 409))
async def submit_result(
    job_id: Id, req: JobResult, node: NodeDep, principal: PrincipalDep
) -> JSONResponse:
    return answer(await results.submit_result(node, principal, job_id, req))


@router.post("/jobs/{job_id}/fail", response_model=Job, responses=errors(404, 409))
async def fail(job_id: Id, req: JobFail, node: NodeDep, principal: PrincipalDep) -> JSONResponse:
    return answer(await results.fail_job(node, principal, job_id, req))


@router.post("/jobs/{job_id}/output", response_model=OutputProgress, responses=errors(404, 409))
async def output(
    job_id: Id, req: JobOutput, node: NodeDep, principal: PrincipalDep
) -> JSONResponse:
    return answer(await outputs.record(node, principal, job_id, req.start, req.chunks))
