"""Health, metrics, node info and the caller's identity."""

from __future__ import annotations

from importlib import metadata
from typing import Any

from fastapi import APIRouter, Request, Response

from ..auth import NodeDep, PrincipalDep
from ..metrics import NodeMetrics

router = APIRouter()


def _version() -> str:
    try:
        return metadata.version("aitbc")
    except metadata.PackageNotFoundError:
        return "0.0.0"


VERSION = _version()


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/metrics")
async def metrics(request: Request, node: NodeDep) -> Response:
    registry: NodeMetrics = request.app.state.metrics
    body = await registry.render(node)
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")


@router.get("/v1/info")
async def info(node: NodeDep) -> dict[str, Any]:
    key = node.signing_key.verify_key
    return {
        "chain_id": node.settings.chain_id,
        "version": VERSION,
        "coordinator_id": node.coordinator_id,
        "signing_keys": [{"key_id": key.key_id, "alg": "ed25519", "public_key": key.b64}],
    }


@router.get("/v1/me")
async def me(principal: PrincipalDep) -> dict[str, Any]:
    return principal.wire()
