"""The miner API: register, heartbeat, long-poll claim, result, fail."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from ..auth import NodeDep, PrincipalDep
from ..schemas import JobFail, JobOutput, JobResult, MinerRegister, Poll
from ..services import miners, outputs, results

router = APIRouter(prefix="/v1/miners")


@router.post("/register")
async def register(req: MinerRegister, node: NodeDep, principal: PrincipalDep) -> dict[str, Any]:
    return await miners.register(node, principal, req)


@router.post("/heartbeat")
async def heartbeat(node: NodeDep, principal: PrincipalDep) -> dict[str, Any]:
    return await miners.heartbeat(node, principal)


@router.post("/poll", response_model=None)
async def poll(
    request: Request, node: NodeDep, principal: PrincipalDep, req: Poll | None = None
) -> dict[str, Any] | Response:
    miners.require_miner(principal)
    wait = req.wait_seconds if req is not None else 0.0
    claimed = await miners.poll(node, principal, wait, request.is_disconnected)
    return Response(status_code=204) if claimed is None else claimed


@router.post("/jobs/{job_id}/result")
async def submit_result(
    job_id: str, req: JobResult, node: NodeDep, principal: PrincipalDep
) -> dict[str, Any]:
    return await results.submit_result(node, principal, job_id, req)


@router.post("/jobs/{job_id}/fail")
async def fail(job_id: str, req: JobFail, node: NodeDep, principal: PrincipalDep) -> dict[str, Any]:
    return await results.fail_job(node, principal, job_id, req)


@router.post("/jobs/{job_id}/output")
async def output(
    job_id: str, req: JobOutput, node: NodeDep, principal: PrincipalDep
) -> dict[str, Any]:
    return await outputs.record(node, principal, job_id, req.start, req.chunks)
