"""Who may read which topic: the same rules as the REST routes that show the data.

A client reads its own ``jobs:``/``account:``/``receipts:`` topics and ``job:`` topics of
its own jobs; a miner also the ``job:`` topics of jobs it holds (it sees them over REST
too); admins read everything; ``marketplace`` is public to any authenticated principal.
Another principal's job answers 404 exactly like ``GET /v1/jobs/{id}``.
"""

from __future__ import annotations

from sqlalchemy import select

from ...core.streams import Topic, parse_topic
from ...errors import ConfigurationError
from ..problems import NodeProblem, forbidden, not_found
from ..runtime import Node
from ..services.principals import Principal
from ..tables import JOBS


def topic_or_problem(name: str) -> Topic:
    """Parse ``name``; an invalid name becomes a 400 ``bad_request`` problem."""
    try:
        return parse_topic(name)
    except ConfigurationError as exc:
        raise NodeProblem(400, "bad_request", str(exc)) from exc


async def authorize_topic(node: Node, principal: Principal, topic: Topic) -> None:
    """Return if ``principal`` may read ``topic``; raise a NodeProblem (403/404) if not."""
    if principal.role == "admin" or topic.kind == "marketplace":
        return
    if topic.kind in ("jobs", "account", "receipts"):
        if topic.scope != principal.id:
            raise forbidden(f"topic {topic.name} belongs to another principal")
        return
    if topic.kind == "job":
        await _authorize_job(node, principal, topic.scope)
        return
    raise forbidden(f"topic {topic.name} is readable by admins only")


async def _authorize_job(node: Node, principal: Principal, job_id: str) -> None:
    query = select(JOBS.c.client_id, JOBS.c.miner_id).where(JOBS.c.id == job_id)
    # The read path: a snapshot that never queues for the write lock.
    owners = await node.read(lambda conn: conn.execute(query).one_or_none())
    if owners is None or principal.id not in (owners.client_id, owners.miner_id):
        raise not_found("job_not_found", "job", job_id)
