"""Blobs: content-addressed bytes stored in the node's database, in parts.

Upload: the uploader PUTs parts (pending under its own id), then completes with the
total size; the node hashes the parts in order and accepts them only when the hash is
the blob's name. Reading is allowed to admins, to every principal that uploaded the
blob, and to the client and the miner of any job that references it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    true,
    update,
)

from ...core.blobs import PART_BYTES, check_sha256, find_refs, part_count
from ...errors import ConfigurationError
from ..clock import iso
from ..models import BlobGrantRow, BlobPartRow, BlobRow, JobBlobRow, JobRow
from ..problems import NodeProblem, invalid, not_found
from .principals import Principal

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from ..runtime import Node, Tx, WriteTx

#: ``uploader_id`` of the parts of a complete blob.
FINAL = ""

JOB_BLOBS = cast(Table, JobBlobRow.__table__)
_JOB_BLOB = select(JOB_BLOBS.c.job_id).where(
    JOB_BLOBS.c.job_id == bindparam("job_id"),
    JOB_BLOBS.c.sha256 == bindparam("sha256"),
    JOB_BLOBS.c.role == bindparam("role"),
)
_INSERT_JOB_BLOB = insert(JOB_BLOBS)


def blob_id(value: str) -> str:
    """A path's blob id, or 422 validation_error."""
    try:
        return check_sha256(value)
    except ConfigurationError as exc:
        raise invalid(str(exc), ["path", "sha256"]) from exc


def _too_large(tx_or_node: Tx | Node, size: int) -> NodeProblem:
    limit = tx_or_node.settings.max_blob_bytes
    return NodeProblem(413, "payload_too_large", f"blob of {size} bytes exceeds {limit}")


def _decode(data: str) -> bytes:
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise invalid("data is not valid base64", ["body", "data"]) from exc


def blob_wire(row: BlobRow) -> dict[str, Any]:
    return {
        "sha256": row.sha256,
        "size": row.size,
        "parts": row.parts,
        "part_bytes": PART_BYTES,
        "created_at": iso(row.created_at),
    }


async def put_part(
    node: Node, principal: Principal, sha256: str, idx: int, data: str
) -> dict[str, Any]:
    """Store one pending part of ``principal``'s upload (replacing an earlier try)."""
    sha256 = blob_id(sha256)
    raw = _decode(data)
    if len(raw) > PART_BYTES:
        raise invalid(f"a part holds at most {PART_BYTES} bytes", ["body", "data"])
    if idx >= part_count(node.settings.max_blob_bytes):
        raise _too_large(node, (idx + 1) * PART_BYTES)
    async with node.transaction() as tx:
        if await tx.session.get(BlobRow, sha256) is not None:
            return {"sha256": sha256, "idx": idx, "complete": True}
        key = {"sha256": sha256, "uploader_id": principal.id, "idx": idx}
        await tx.session.execute(delete(BlobPartRow).filter_by(**key))
        tx.session.add(BlobPartRow(**key, data=raw))
    return {"sha256": sha256, "idx": idx, "complete": False}


async def complete(node: Node, principal: Principal, sha256: str, size: int) -> dict[str, Any]:
    """Check the pending parts against ``sha256`` and ``size`` and publish the blob.

    Raises 413 above ``max_blob_bytes``, 422 blob_incomplete when parts are missing or
    mis-sized, 422 blob_hash_mismatch (the pending parts are discarded) when the bytes
    do not hash to ``sha256``. Completing a blob that exists only adds the grant.
    """
    sha256 = blob_id(sha256)
    if size > node.settings.max_blob_bytes:
        raise _too_large(node, size)
    mismatch = False
    async with node.transaction() as tx:
        row = await tx.session.get(BlobRow, sha256)
        if row is None:
            mismatch = not await _check_parts(tx, principal, sha256, size)
            if not mismatch:
                row = await _publish(tx, principal, sha256, size)
        if row is not None:
            await _grant(tx, sha256, principal.id)
            await _drop_pending(tx, principal, sha256)
            return blob_wire(row)
    async with node.transaction() as tx:
        await _drop_pending(tx, principal, sha256)
    raise NodeProblem(
        422, "blob_hash_mismatch", f"the uploaded bytes do not hash to {sha256}; upload again"
    )


async def _check_parts(tx: Tx, principal: Principal, sha256: str, size: int) -> bool:
    """True when the pending parts hash to ``sha256``; 422 blob_incomplete when their
    number or sizes do not fit ``size``."""
    expected = part_count(size)
    parts = await tx.session.execute(
        select(BlobPartRow.idx, BlobPartRow.data)
        .where(BlobPartRow.sha256 == sha256, BlobPartRow.uploader_id == principal.id)
        .order_by(BlobPartRow.idx)
    )
    digest = hashlib.sha256()
    seen = 0
    for idx, data in parts:
        last = idx == expected - 1
        wanted = size - PART_BYTES * (expected - 1) if last else PART_BYTES
        if idx != seen or len(data) != wanted:
            raise NodeProblem(
                422,
                "blob_incomplete",
                f"part {seen} of {expected} is missing or not {wanted} bytes long",
            )
        digest.update(data)
        seen += 1
    if seen != expected:
        raise NodeProblem(422, "blob_incomplete", f"{seen} of {expected} parts uploaded")
    return digest.hexdigest() == sha256


async def _publish(tx: Tx, principal: Principal, sha256: str, size: int) -> BlobRow:
    await tx.session.execute(
        update(BlobPartRow)
        .where(BlobPartRow.sha256 == sha256, BlobPartRow.uploader_id == principal.id)
        .values(uploader_id=FINAL)
    )
    row = BlobRow(sha256=sha256, size=size, parts=part_count(size), created_at=tx.now)
    tx.session.add(row)
    await tx.session.flush()
    return row


async def _grant(tx: Tx, sha256: str, principal_id: str) -> None:
    if await tx.session.get(BlobGrantRow, (sha256, principal_id)) is None:
        tx.session.add(BlobGrantRow(sha256=sha256, principal_id=principal_id, created_at=tx.now))


async def _drop_pending(tx: Tx, principal: Principal, sha256: str) -> None:
    await tx.session.execute(
        delete(BlobPartRow).where(
            BlobPartRow.sha256 == sha256, BlobPartRow.uploader_id == principal.id
        )
    )


def _access(principal: Principal, sha256: str) -> ColumnElement[bool]:
    """Admins, uploaders, and the client or miner of a job referencing the blob."""
    if principal.role == "admin":
        return true()
    granted = exists().where(
        BlobGrantRow.sha256 == sha256, BlobGrantRow.principal_id == principal.id
    )
    via_job = exists().where(
        JobBlobRow.sha256 == sha256,
        JobRow.id == JobBlobRow.job_id,
        or_(JobRow.client_id == principal.id, JobRow.miner_id == principal.id),
    )
    return or_(granted, via_job)


async def may_read(session: AsyncSession, principal: Principal, sha256: str) -> bool:
    """Whether ``principal`` may read the blob (see :func:`_access`)."""
    return bool(await session.scalar(select(_access(principal, sha256))))


async def _readable(session: AsyncSession, principal: Principal, sha256: str) -> BlobRow:
    row = await session.get(BlobRow, sha256)
    if row is None or not await may_read(session, principal, sha256):
        raise not_found("blob_not_found", "blob", sha256)
    return row


async def get_blob(node: Node, principal: Principal, sha256: str) -> dict[str, Any]:
    """The blob's metadata; 404 blob_not_found when absent or not readable."""
    sha256 = blob_id(sha256)
    async with node.reads() as session:
        return blob_wire(await _readable(session, principal, sha256))


async def get_part(node: Node, principal: Principal, sha256: str, idx: int) -> dict[str, Any]:
    """``{"sha256", "idx", "data"}`` (base64); 404 for an unreadable blob or part."""
    sha256 = blob_id(sha256)
    async with node.reads() as session:
        await _readable(session, principal, sha256)
        data = await session.scalar(
            select(BlobPartRow.data).where(
                BlobPartRow.sha256 == sha256,
                BlobPartRow.uploader_id == FINAL,
                BlobPartRow.idx == idx,
            )
        )
    if data is None:
        raise not_found("blob_part_not_found", "blob part", f"{sha256}/{idx}")
    return {"sha256": sha256, "idx": idx, "data": base64.b64encode(data).decode()}


def attach(tx: WriteTx, principal: Principal, job_id: str, value: Any, role: str) -> list[str]:
    """Record the blobs ``value`` references as the job's ``role`` blobs; return them.

    Every referenced blob must exist and be readable by ``principal`` (who creates the
    job or submits its result): otherwise 404 blob_not_found, raised inside the caller's
    unit so nothing it did (an escrow, a payout) is committed.
    """
    try:
        refs = sorted(find_refs(value))
    except ConfigurationError as exc:
        field = "payload" if role == "input" else "result"
        raise invalid(str(exc), ["body", field]) from exc
    for sha256 in refs:
        stored = exists().where(BlobRow.sha256 == sha256)
        if not tx.conn.execute(select(and_(stored, _access(principal, sha256)))).scalar():
            raise not_found("blob_not_found", "blob", sha256)
        key = {"job_id": job_id, "sha256": sha256, "role": role}
        if tx.conn.execute(_JOB_BLOB, key).first() is None:
            tx.conn.execute(_INSERT_JOB_BLOB, key)
    return refs


async def usage(node: Node) -> dict[str, int]:
    """``{"blobs", "bytes"}`` stored (for operators and tests)."""
    async with node.reads() as session:
        count, total = (
            await session.execute(select(func.count(BlobRow.sha256), func.sum(BlobRow.size)))
        ).one()
    return {"blobs": int(count), "bytes": int(total or 0)}
