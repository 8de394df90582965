"""The job types a node knows: configured ones plus those its registered miners serve.

A job of any other type could never be claimed; it would sit QUEUED with its price in
escrow until its ttl. So it is refused up front with ``422 unknown_job_type``.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from .models import MinerRow
from .problems import NodeProblem
from .tables import MINERS

if TYPE_CHECKING:
    from .runtime import Node


async def known_job_types(node: Node) -> frozenset[str]:
    """Configured types and every type a registered miner declared."""
    known = set(node.settings.configured_job_types)
    async with node.reads() as session:
        for capabilities in await session.scalars(select(MinerRow.capabilities)):
            known.update(str(name) for name in capabilities.get("job_types", []))
    return frozenset(known)


async def require_known(node: Node, job_type: str) -> None:
    """Raise ``422 unknown_job_type`` (naming the known types) for a type nobody serves."""
    if job_type in node.settings.configured_job_types:
        return  # the common case needs no query
    known = await known_job_types(node)
    if job_type not in known:
        names = ", ".join(sorted(known)) or "none yet"
        detail = {"loc": ["body", "job_type"], "msg": f"known: {names}", "type": "unknown"}
        raise NodeProblem(
            422,
            "unknown_job_type",
            f"no miner serves job type {job_type!r}; known types: {names}",
            details=[detail],
        )


def serves(capabilities: dict[str, Any], job: dict[str, Any]) -> bool:
    """Whether a miner with ``capabilities`` would be offered ``job`` (its wire dict)."""
    wanted = job.get("constraints") or {}
    if job["job_type"] not in capabilities.get("job_types", []):
        return False
    if int(capabilities.get("min_price", 0) or 0) > int(job["price"]):
        return False
    if not set(wanted.get("models") or []) <= set(capabilities.get("models") or []):
        return False
    if wanted.get("region") and wanted["region"] != capabilities.get("region"):
        return False
    return float(capabilities.get("gpu_memory_gb") or 0) >= float(
        wanted.get("min_gpu_memory_gb") or 0
    )


async def blocked_reason(node: Node, job: dict[str, Any]) -> str | None:
    """Why no live miner can take this QUEUED job, or None when one can.

    A miner is live when the node heard from it (registration or heartbeat; idle miners
    heartbeat too) within ``miner_live_seconds``.
    """
    if job["state"] != "QUEUED":
        return None
    miners = await _roster(node)
    serving = [m for m in miners if job["job_type"] in m.capabilities.get("job_types", [])]
    if not serving:
        return f"no registered miner serves job type {job['job_type']!r}"
    able = [m for m in serving if serves(m.capabilities, job)]
    if not able:
        return "no registered miner meets this job's price and constraints"
    window = node.settings.miner_live_seconds
    if not any(is_live(m.heard, node.clock(), window) for m in able):
        return f"no miner that can take this job has been heard from in the last {window:g} s"
    return None


#: How long a worker reuses its roster of miners for ``blocked_reason``. Every GET of a
#: QUEUED job needs it, and clients poll their jobs several times a second; this
#: worker's own registrations and heartbeats refresh it at once (:func:`forget_roster`),
#: so only another worker's can show up this much later.
ROSTER_SECONDS = 1.0


@dataclass
class _Roster:
    generation: int = 0
    read_at: datetime | None = None  # node clock: tests that move it see a fresh read
    miners: Sequence[Any] = ()


_rosters: weakref.WeakKeyDictionary[Node, _Roster] = weakref.WeakKeyDictionary()


async def _roster(node: Node) -> Sequence[Any]:
    """Every miner's capabilities and when it was last heard from (cached, see above)."""
    roster = _rosters.setdefault(node, _Roster())
    now, read_at = node.clock(), roster.read_at
    if read_at is not None and timedelta(0) <= now - read_at < timedelta(seconds=ROSTER_SECONDS):
        return roster.miners
    generation, started = roster.generation, now
    miners = await node.read(lambda conn: conn.execute(_MINERS_HEARD).all())
    if roster.generation == generation:  # no local change meanwhile: keep it
        roster.read_at, roster.miners = started, miners
    return miners


def forget_roster(node: Node) -> None:
    """A miner registered or was heard from through this worker: read afresh next time."""
    roster = _rosters.setdefault(node, _Roster())
    roster.generation += 1
    roster.read_at = None


def is_live(heard: datetime | None, now: datetime, window_seconds: float) -> bool:
    """Whether a miner last heard from at ``heard`` counts as live at ``now``."""
    return heard is not None and heard >= now - timedelta(seconds=window_seconds)


_MINERS_HEARD = select(
    MINERS.c.capabilities,
    func.coalesce(MINERS.c.last_heartbeat_at, MINERS.c.registered_at).label("heard"),
)
