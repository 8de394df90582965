"""Health, metrics, node info and the caller's identity."""

from __future__ import annotations

import json
from importlib import metadata

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from ...core.signing import SigningKey
from ...models import Health, NodeInfo, Principal
from ..auth import NodeDep, PrincipalDep
from ..metrics import NodeMetrics
from ..runtime import Node
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
async def info(request: Request) -> Response:
    # The answer is fixed once the node has loaded its identity (at start), so it is
    # rendered once, not per call; a new identity (a test restarting the node) renders
    # it again. No dependencies: each one costs a resolution on every call.
    node: Node = request.app.state.node
    identity = (node.signing_key, node.coordinator_id)
    cached: tuple[tuple[SigningKey, str], bytes] | None = getattr(request.app.state, "info", None)
    if cached is None or cached[0] != identity:
        key = node.signing_key.verify_key
        body = {
            "chain_id": node.settings.chain_id,
            "version": VERSION,
            "coordinator_id": node.coordinator_id,
            "signing_keys": [{"key_id": key.key_id, "alg": "ed25519", "public_key": key.b64}],
        }
        cached = (identity, json.dumps(body, separators=(",", ":")).encode())
        request.app.state.info = cached
    return Response(cached[1], media_type="application/json")


@router.get("/v1/me", response_model=Principal, responses=errors(*AUTHENTICATED))
async def me(principal: PrincipalDep) -> JSONResponse:
    return answer(principal.wire())
