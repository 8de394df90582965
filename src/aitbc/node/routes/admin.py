"""Admin-only routes: principals and the faucet."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ...models import CreatedPrincipal, Transfer
from ..auth import AdminDep, NodeDep
from ..schemas import Faucet, PrincipalCreate
from ..services import wallet
from ..services.principals import create_principal
from . import AUTHENTICATED, answer, errors

router = APIRouter(prefix="/v1/admin", responses=errors(*AUTHENTICATED))


@router.post("/principals", status_code=201, response_model=CreatedPrincipal)
async def new_principal(req: PrincipalCreate, node: NodeDep, _: AdminDep) -> JSONResponse:
    async with node.transaction() as tx:
        principal, key = await create_principal(tx, req.role.value, req.name)
    return answer({"principal": principal.wire(), "api_key": key}, 201)


@router.post("/faucet", status_code=201, response_model=Transfer, responses=errors(404, 409))
async def faucet(req: Faucet, node: NodeDep, _: AdminDep) -> JSONResponse:
    return answer(await wallet.faucet(node, req), 201)
