"""The caller's wallet: balance, transfers, history."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from ..auth import NodeDep, PrincipalDep
from ..schemas import TransferCreate
from ..services import ledger, wallet
from . import Cursor, IdempotencyKey, Limit, created_or_replayed

router = APIRouter(prefix="/v1/wallet")


@router.get("/balance")
async def balance(node: NodeDep, principal: PrincipalDep) -> dict[str, Any]:
    return await ledger.balance(node, principal.id)


@router.post("/transfer", status_code=201)
async def transfer(
    req: TransferCreate,
    response: Response,
    node: NodeDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    result, replayed = await wallet.transfer(node, principal, req, idempotency_key)
    created_or_replayed(response, replayed)
    return result


@router.get("/history")
async def history(
    node: NodeDep, principal: PrincipalDep, limit: Limit = 50, cursor: Cursor = None
) -> dict[str, Any]:
    return await ledger.history(node, principal.id, limit, cursor)
