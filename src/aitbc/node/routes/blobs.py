"""Blobs: part uploads, completion, metadata and part downloads (JSON, base64 parts)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from pydantic import Field

from ...core.blobs import BASE64_PATTERN, BLOB_ID_PATTERN, PART_BYTES
from ...models import Blob, BlobPartData, BlobPartStored
from ..auth import NodeDep, PrincipalDep
from ..schemas import Strict
from ..services import blobs
from . import AUTHENTICATED, answer, errors

router = APIRouter(prefix="/v1/blobs", responses=errors(*AUTHENTICATED))

BlobId = Annotated[str, Path(pattern=BLOB_ID_PATTERN, description="The bytes' SHA-256, hex")]
PartIndex = Annotated[int, Path(ge=0, le=1_000_000)]
#: base64 of one part: 4 characters per 3 bytes, padded.
PART_CHARS = 4 * -(-PART_BYTES // 3)


class BlobPart(Strict):
    data: str = Field(max_length=PART_CHARS, pattern=BASE64_PATTERN)


class BlobComplete(Strict):
    size: int = Field(ge=0, le=2**40)


@router.put(
    "/{sha256}/parts/{idx}",
    response_model=BlobPartStored,
    responses=errors(413),
    description="Hold one part of your upload (replacing an earlier try of that part). "
    "413 for a part past the node's `max_blob_bytes`.",
)
async def put_part(
    sha256: BlobId, idx: PartIndex, req: BlobPart, node: NodeDep, principal: PrincipalDep
) -> JSONResponse:
    return answer(await blobs.put_part(node, principal, sha256, idx, req.data))


@router.post(
    "/{sha256}/complete",
    response_model=Blob,
    responses=errors(413),
    description="Hash your uploaded parts and publish the blob. 413 above the node's "
    "`max_blob_bytes`; 422 `blob_incomplete` when parts are missing or mis-sized, "
    "422 `blob_hash_mismatch` (the parts are dropped) when the bytes hash otherwise.",
)
async def complete(
    sha256: BlobId, req: BlobComplete, node: NodeDep, principal: PrincipalDep
) -> JSONResponse:
    return answer(await blobs.complete(node, principal, sha256, req.size))


@router.get("/{sha256}", response_model=Blob, responses=errors(404))
async def get_blob(sha256: BlobId, node: NodeDep, principal: PrincipalDep) -> JSONResponse:
    return answer(await blobs.get_blob(node, principal, sha256))


@router.get("/{sha256}/parts/{idx}", response_model=BlobPartData, responses=errors(404))
async def get_part(
    sha256: BlobId, idx: PartIndex, node: NodeDep, principal: PrincipalDep
) -> JSONResponse:
    return answer(await blobs.get_part(node, principal, sha256, idx))
