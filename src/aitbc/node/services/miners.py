"""Miner registration, heartbeats and the atomic, long-polling job claim."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    bindparam,
    exists,
    insert,
    not_,
    or_,
    select,
    update,
)

from ...core.signing import VerifyKey
from ..clock import iso, utcnow
from ..job_types import forget_roster
from ..problems import conflict, forbidden
from ..raw_sql import RawStatement
from ..schemas import Capabilities, MinerRegister
from ..tables import JOB_MODELS, JOBS, MINERS
from .principals import Principal
from .transitions import PreparedCas, lease_until
from .wire import job_wire, miner_wire

if TYPE_CHECKING:
    from ..runtime import Node, WriteTx


def require_miner(principal: Principal) -> None:
    if principal.role != "miner":
        raise forbidden("only miners may use the miner API")


#: Read on every poll (see :mod:`aitbc.node.raw_sql`).
_MINER = RawStatement(select(MINERS).where(MINERS.c.principal_id == bindparam("miner_id")))


def registered(conn: Connection, principal: Principal) -> Row[Any]:
    """The miner's registration; 409 miner_not_registered before ``register``."""
    require_miner(principal)
    miner: Row[Any] | None = _MINER.first(conn, miner_id=principal.id)
    if miner is None:
        raise conflict("miner_not_registered", "register with /v1/miners/register first")
    return miner


def _register(tx: WriteTx, principal: Principal, req: MinerRegister) -> dict[str, Any]:
    key = VerifyKey.from_b64(req.public_key)
    capabilities = req.capabilities.model_dump(mode="json")
    capabilities["min_price"] = str(req.capabilities.min_price)
    values = {"public_key": key.b64, "key_id": key.key_id, "capabilities": capabilities}
    updated = tx.conn.execute(
        update(MINERS)
        .where(MINERS.c.principal_id == principal.id)
        .values(**values)
        .returning(*MINERS.c)
    ).first()
    if updated is None:
        updated = tx.conn.execute(
            insert(MINERS)
            .values(principal_id=principal.id, registered_at=tx.now, **values)
            .returning(*MINERS.c)
        ).one()
    return miner_wire(updated)


async def register(node: Node, principal: Principal, req: MinerRegister) -> dict[str, Any]:
    """Register or re-register (replacing key and capabilities); return the Miner."""
    require_miner(principal)
    VerifyKey.from_b64(req.public_key)  # a bad key is refused before any write
    try:
        return await node.write(lambda tx: _register(tx, principal, req))
    finally:
        forget_roster(node)


def _heartbeat(tx: WriteTx, principal: Principal) -> dict[str, Any]:
    registered(tx.conn, principal)
    tx.conn.execute(
        update(MINERS).where(MINERS.c.principal_id == principal.id).values(last_heartbeat_at=tx.now)
    )
    renewed = tx.conn.execute(
        update(JOBS)
        .where(
            JOBS.c.miner_id == principal.id,
            JOBS.c.state == "RUNNING",
            JOBS.c.lease_expires_at > tx.now,
            JOBS.c.expires_at > tx.now,
        )
        .values(lease_expires_at=lease_until(tx), updated_at=tx.now)
        .returning(JOBS.c.id)
    ).scalars()
    return {"ok": True, "renewed": sorted(renewed)}


async def heartbeat(node: Node, principal: Principal) -> dict[str, Any]:
    """Renew the leases of every RUNNING job this miner holds whose lease is still valid."""
    require_miner(principal)
    try:
        return await node.write(lambda tx: _heartbeat(tx, principal))
    finally:
        forget_roster(node)


def _matches() -> list[ColumnElement[bool]]:
    """SQL conditions for QUEUED jobs whose constraints a miner meets (its capabilities
    and the time are bound at execution, see :func:`_pick_params`)."""
    missing_model = exists().where(
        JOB_MODELS.c.job_id == JOBS.c.id,
        JOB_MODELS.c.model.not_in(bindparam("models", expanding=True)),
    )
    return [
        JOBS.c.state == "QUEUED",
        JOBS.c.expires_at > bindparam("now"),
        JOBS.c.job_type.in_(bindparam("job_types", expanding=True)),
        JOBS.c.min_gpu_memory_gb <= bindparam("gpu_memory_gb"),
        # A miner without a region binds NULL: ``region = NULL`` is never true.
        or_(JOBS.c.region.is_(None), JOBS.c.region == bindparam("region")),
        or_(JOBS.c.max_price.is_(None), JOBS.c.max_price >= bindparam("min_price")),
        JOBS.c.price >= bindparam("min_price"),
        not_(missing_model),
    ]


# Built once: constructing this statement (and its cache key) on every poll cost more
# than running it.
_PICK = select(JOBS.c.id).where(*_matches()).order_by(JOBS.c.created_at, JOBS.c.id).limit(1)
_PICK_LOCKED = _PICK.with_for_update(skip_locked=True)


def _pick_params(caps: Capabilities, now: datetime) -> dict[str, Any]:
    return {
        "now": now,
        "job_types": list(caps.job_types),
        "models": list(caps.models),
        "gpu_memory_gb": caps.gpu_memory_gb,
        "region": caps.region,
        "min_price": caps.min_price,
    }


def _pick(conn: Connection, caps: Capabilities, now: datetime, *, lock: bool) -> str | None:
    locked = lock and conn.dialect.name == "postgresql"
    return conn.execute(_PICK_LOCKED if locked else _PICK, _pick_params(caps, now)).scalar()


#: QUEUED -> RUNNING for the claiming miner.
_CLAIM = PreparedCas(
    [JOBS.c.state == bindparam("from_state")],
    ["state", "miner_id", "started_at", "lease_expires_at"],
    from_state="QUEUED",
)


def _claim(tx: WriteTx, principal: Principal, caps: Capabilities) -> dict[str, Any] | None:
    job_id = _pick(tx.conn, caps, tx.now, lock=True)
    if job_id is None:
        return None
    job = _CLAIM(
        tx,
        job_id,
        state="RUNNING",
        miner_id=principal.id,
        started_at=tx.now,
        lease_expires_at=lease_until(tx),
    )
    if job is None:
        return None
    return {"job": job_wire(job), "lease_expires_at": iso(job.lease_expires_at)}


async def claim_once(node: Node, principal: Principal) -> dict[str, Any] | None:
    """Claim the oldest matching QUEUED job, or None. Atomic across workers.

    A read (no write lock) first looks for a candidate, so an empty poll costs no write.
    PostgreSQL: ``FOR UPDATE SKIP LOCKED`` makes concurrent pollers pick different rows.
    Every backend: the claim itself is a compare-and-set on ``state = 'QUEUED'``.
    """

    def look(conn: Connection) -> tuple[Capabilities, str | None]:
        miner = registered(conn, principal)
        caps = Capabilities.model_validate(miner.capabilities)
        return caps, _pick(conn, caps, utcnow(), lock=False)

    caps, candidate = await node.read(look)
    if candidate is None:
        return None
    return await node.write(lambda tx: _claim(tx, principal, caps))


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
