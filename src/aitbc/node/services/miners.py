"""Miner registration, heartbeats and the atomic, long-polling job claim."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, exists, not_, or_, select, update

from ...core.signing import VerifyKey
from ..clock import iso
from ..models import JobModelRow, JobRow, MinerRow
from ..problems import conflict, forbidden
from ..schemas import Capabilities, MinerRegister
from .principals import Principal
from .transitions import cas, lease_until
from .wire import job_wire, miner_wire

if TYPE_CHECKING:
    from ..runtime import Node, Tx


def require_miner(principal: Principal) -> None:
    if principal.role != "miner":
        raise forbidden("only miners may use the miner API")


async def registered(tx: Tx, principal: Principal) -> MinerRow:
    """The miner's registration; 409 miner_not_registered before ``register``."""
    require_miner(principal)
    miner = await tx.session.get(MinerRow, principal.id)
    if miner is None:
        raise conflict("miner_not_registered", "register with /v1/miners/register first")
    return miner


async def register(node: Node, principal: Principal, req: MinerRegister) -> dict[str, Any]:
    """Register or re-register (replacing key and capabilities); return the Miner."""
    require_miner(principal)
    key = VerifyKey.from_b64(req.public_key)
    async with node.transaction() as tx:
        miner = await tx.session.get(MinerRow, principal.id)
        if miner is None:
            miner = MinerRow(principal_id=principal.id, registered_at=tx.now)
            tx.session.add(miner)
        miner.public_key = key.b64
        miner.key_id = key.key_id
        miner.capabilities = req.capabilities.model_dump(mode="json")
        miner.capabilities["min_price"] = str(req.capabilities.min_price)
        await tx.session.flush()
        return miner_wire(miner)


async def heartbeat(node: Node, principal: Principal) -> dict[str, Any]:
    """Renew the leases of every RUNNING job this miner holds whose lease is still valid."""
    async with node.transaction() as tx:
        miner = await registered(tx, principal)
        miner.last_heartbeat_at = tx.now
        renewed = await tx.session.scalars(
            update(JobRow)
            .where(
                JobRow.miner_id == principal.id,
                JobRow.state == "RUNNING",
                JobRow.lease_expires_at > tx.now,
                JobRow.expires_at > tx.now,
            )
            .values(lease_expires_at=lease_until(tx), updated_at=tx.now)
            .returning(JobRow.id)
            .execution_options(synchronize_session=False)
        )
        return {"ok": True, "renewed": sorted(renewed)}


def _matches(tx: Tx, caps: Capabilities) -> list[ColumnElement[bool]]:
    """SQL conditions for QUEUED jobs whose constraints this miner meets."""
    missing_model = exists().where(
        JobModelRow.job_id == JobRow.id, JobModelRow.model.not_in(caps.models)
    )
    return [
        JobRow.state == "QUEUED",
        JobRow.expires_at > tx.now,
        JobRow.job_type.in_(caps.job_types),
        JobRow.min_gpu_memory_gb <= caps.gpu_memory_gb,
        or_(JobRow.region.is_(None), JobRow.region == caps.region),
        or_(JobRow.max_price.is_(None), JobRow.max_price >= caps.min_price),
        JobRow.price >= caps.min_price,
        not_(missing_model),
    ]


async def claim_once(node: Node, principal: Principal) -> dict[str, Any] | None:
    """Claim the oldest matching QUEUED job, or None. Atomic across workers.

    PostgreSQL: ``FOR UPDATE SKIP LOCKED`` makes concurrent pollers pick different rows.
    Every backend: the claim itself is a compare-and-set on ``state = 'QUEUED'``.
    """
    async with node.transaction() as tx:
        miner = await registered(tx, principal)
        caps = Capabilities.model_validate(miner.capabilities)
        pick = select(JobRow.id).where(*_matches(tx, caps))
        pick = pick.order_by(JobRow.created_at, JobRow.id).limit(1)
        if tx.node.engine.dialect.name == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        job_id = await tx.session.scalar(pick)
        if job_id is None:
            return None
        job = await cas(
            tx,
            job_id,
            [JobRow.state == "QUEUED"],
            state="RUNNING",
            miner_id=principal.id,
            started_at=tx.now,
            lease_expires_at=lease_until(tx),
        )
        if job is None:
            return None
        return {"job": job_wire(job), "lease_expires_at": iso(job.lease_expires_at)}


async def poll(
    node: Node,
    principal: Principal,
    wait_seconds: float,
    gone: Callable[[], Awaitable[bool]] | None = None,
) -> dict[str, Any] | None:
    """Long-poll: claim a job, waiting up to ``wait_seconds``; None when nothing came.

    ``gone`` reports whether the caller disconnected, so no job is claimed for nobody.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    while True:
        if node.stopping or (gone is not None and await gone()):
            return None
        claimed = await claim_once(node, principal)
        remaining = deadline - loop.time()
        if claimed is not None or remaining <= 0:
            return claimed
        await node.job_wakeup.wait(min(remaining, node.settings.poll_recheck_seconds))
