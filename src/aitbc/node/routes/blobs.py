"""Blobs: part uploads, completion, metadata and part downloads (JSON, base64 parts)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import Field

from ..auth import NodeDep, PrincipalDep
from ..schemas import Strict
from ..services import blobs

router = APIRouter(prefix="/v1/blobs")

PartIndex = Annotated[int, Path(ge=0, le=1_000_000)]


class BlobPart(Strict):
    data: str = Field(max_length=400_000)


class BlobComplete(Strict):
    size: int = Field(ge=0, le=2**40)


@router.put("/{sha256}/parts/{idx}")
async def put_part(
    sha256: str, idx: PartIndex, req: BlobPart, node: NodeDep, principal: PrincipalDep
) -> dict[str, Any]:
    return await blobs.put_part(node, principal, sha256, idx, req.data)


@router.post("/{sha256}/complete")
async def complete(
    sha256: str, req: BlobComplete, node: NodeDep, principal: PrincipalDep
) -> dict[str, Any]:
    return await blobs.complete(node, principal, sha256, req.size)


@router.get("/{sha256}")
async def get_blob(sha256: str, node: NodeDep, principal: PrincipalDep) -> dict[str, Any]:
    return await blobs.get_blob(node, principal, sha256)


@router.get("/{sha256}/parts/{idx}")
async def get_part(
    sha256: str, idx: PartIndex, node: NodeDep, principal: PrincipalDep
) -> dict[str, Any]:
    return await blobs.get_part(node, principal, sha256, idx)
