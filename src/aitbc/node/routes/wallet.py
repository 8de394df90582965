"""The caller's wallet: balance, transfers, history."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ...models import Balance, Page, Transfer
from ..auth import NodeDep, PrincipalDep
from ..schemas import TransferCreate
from ..services import ledger, wallet
from . import (
    AUTHENTICATED,
    Cursor,
    IdempotencyKey,
    Limit,
    answer,
    created_or_replayed,
    errors,
    replay_docs,
)

router = APIRouter(prefix="/v1/wallet", responses=errors(*AUTHENTICATED))


@router.get("/balance", response_model=Balance)
async def balance(node: NodeDep, principal: PrincipalDep) -> JSONResponse:
    return answer(await ledger.balance(node, principal.id))


@router.post(
    "/transfer",
    status_code=201,
    response_model=Transfer,
    responses={**replay_docs(Transfer), **errors(402, 404, 409)},
)
async def transfer(
    req: TransferCreate,
    node: NodeDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    result, replayed = await wallet.transfer(node, principal, req, idempotency_key)
    return created_or_replayed(result, replayed)


@router.get("/history", response_model=Page[Transfer])
async def history(
    node: NodeDep, principal: PrincipalDep, limit: Limit = 50, cursor: Cursor = None
) -> JSONResponse:
    return answer(await ledger.history(node, principal.id, limit, cursor))
