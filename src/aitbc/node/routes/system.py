"""Health, metrics, node info and the caller's identity."""

from __future__ import annotations

from importlib import metadata

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from ...models import Health, NodeInfo, Principal
from ..auth import NodeDep, PrincipalDep
from ..metrics import NodeMetrics
from . import AUTHENTICATED, COMMON, answer, errors

router = APIRouter()
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


def _version() -> str:
    try:
        return metadata.version("aitbc")
    except metadata.PackageNotFoundError:
        return "0.0.0"


VERSION = _version()


@router.get("/health", response_model=Health, responses=errors(*COMMON))
async def health() -> JSONResponse:
    return answer({"status": "ok"})


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text exposition format",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        **errors(*COMMON),
    },
)
async def metrics(request: Request, node: NodeDep) -> Response:
    registry: NodeMetrics = request.app.state.metrics
    body = await registry.render(node)
    return Response(body, media_type=PROMETHEUS_TEXT)


@router.get("/v1/info", response_model=NodeInfo, responses=errors(*COMMON))
async def info(node: NodeDep) -> JSONResponse:
    key = node.signing_key.verify_key
    return answer(
        {
            "chain_id": node.settings.chain_id,
            "version": VERSION,
            "coordinator_id": node.coordinator_id,
            "signing_keys": [{"key_id": key.key_id, "alg": "ed25519", "public_key": key.b64}],
        }
    )


@router.get("/v1/me", response_model=Principal, responses=errors(*AUTHENTICATED))
async def me(principal: PrincipalDep) -> JSONResponse:
    return answer(principal.wire())
