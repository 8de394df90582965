"""API key lifecycle routes: each principal its own keys, an admin anyone's."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from ...models import ApiKey, CreatedApiKey, Page, RotatedApiKey
from ..auth import NodeDep, PrincipalDep
from ..schemas import ID_PATTERN, KeyCreate, KeyRotate
from ..services import keys
from . import AUTHENTICATED, Cursor, Id, Limit, answer, errors

router = APIRouter(prefix="/v1/keys", responses=errors(*AUTHENTICATED))

PrincipalFilter = Annotated[str | None, Query(pattern=ID_PATTERN)]


@router.get("", response_model=Page[ApiKey])
async def list_keys(
    node: NodeDep,
    principal: PrincipalDep,
    principal_id: PrincipalFilter = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> JSONResponse:
    return answer(await keys.list_keys(node, principal, principal_id, limit, cursor))


@router.post("", status_code=201, response_model=CreatedApiKey, responses=errors(404))
async def create_key(req: KeyCreate, node: NodeDep, principal: PrincipalDep) -> JSONResponse:
    return answer(await keys.create_key(node, principal, req), 201)


@router.post("/{key_id}/revoke", response_model=ApiKey, responses=errors(404))
async def revoke_key(key_id: Id, node: NodeDep, principal: PrincipalDep) -> JSONResponse:
    return answer(await keys.revoke_key(node, principal, key_id))


@router.post(
    "/{key_id}/rotate", status_code=201, response_model=RotatedApiKey, responses=errors(404, 409)
)
async def rotate_key(
    key_id: Id, req: KeyRotate, node: NodeDep, principal: PrincipalDep
) -> JSONResponse:
    return answer(await keys.rotate_key(node, principal, key_id, req), 201)
