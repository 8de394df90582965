"""Admin-only routes: principals and the faucet."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..auth import AdminDep, NodeDep
from ..schemas import Faucet, PrincipalCreate
from ..services import wallet
from ..services.principals import create_principal

router = APIRouter(prefix="/v1/admin")


@router.post("/principals", status_code=201)
async def new_principal(req: PrincipalCreate, node: NodeDep, _: AdminDep) -> dict[str, Any]:
    async with node.transaction() as tx:
        principal, key = await create_principal(tx, req.role, req.name)
    return {"principal": principal.wire(), "api_key": key}


@router.post("/faucet", status_code=201)
async def faucet(req: Faucet, node: NodeDep, _: AdminDep) -> dict[str, Any]:
    return await wallet.faucet(node, req)
