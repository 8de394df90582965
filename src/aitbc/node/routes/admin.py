"""Admin-only routes: principals, the faucet and the audit log of admin actions."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ...models import AuditEntry, CreatedPrincipal, Page, Transfer
from ..auth import AdminDep, NodeDep
from ..schemas import Faucet, PrincipalCreate
from ..services import audit, wallet
from ..services.principals import create_principal
from . import AUTHENTICATED, Cursor, Limit, answer, errors

router = APIRouter(prefix="/v1/admin", responses=errors(*AUTHENTICATED))


@router.post("/principals", status_code=201, response_model=CreatedPrincipal)
async def new_principal(req: PrincipalCreate, node: NodeDep, admin: AdminDep) -> JSONResponse:
    async with node.transaction() as tx:
        principal, key = await create_principal(tx, req.role.value, req.name)
        entry = {"role": principal.role, "name": principal.name}
        await tx.session.execute(
            audit.audit_entry(tx.now, admin.id, "principal.create", principal.id, entry)
        )
    return answer({"principal": principal.wire(), "api_key": key}, 201)


@router.post("/faucet", status_code=201, response_model=Transfer, responses=errors(404, 409))
async def faucet(req: Faucet, node: NodeDep, admin: AdminDep) -> JSONResponse:
    return answer(await wallet.faucet(node, req, actor_id=admin.id), 201)


@router.get("/audit", response_model=Page[AuditEntry])
async def audit_log(
    node: NodeDep, _: AdminDep, limit: Limit = 50, cursor: Cursor = None
) -> JSONResponse:
    """Admin actions, newest first (principals, faucet, keys, realtime kicks)."""
    return answer(await audit.audit_page(node, limit, cursor))
