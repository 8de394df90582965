"""Idempotency-Key handling: the first answer wins, a changed body is a conflict.

The key row is inserted in the same transaction as the resource it names. Two
concurrent requests with one key collide on the primary key; the loser rolls back
everything it did and replays the winner's resource.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from ...core.canonical import canonical_json
from ..models import IdempotencyRow
from ..problems import conflict

if TYPE_CHECKING:
    from ..runtime import Node, Tx

Loader = Callable[["Node", str], Awaitable[dict[str, Any]]]


def body_hash(body: Any) -> str:
    return hashlib.sha256(canonical_json(body)).hexdigest()


async def _replay(
    node: Node, principal_id: str, scope: str, key: str, digest: str, load: Loader
) -> dict[str, Any] | None:
    async with node.reads() as session:
        row = await session.scalar(
            select(IdempotencyRow).where(
                IdempotencyRow.principal_id == principal_id,
                IdempotencyRow.scope == scope,
                IdempotencyRow.key == key,
            )
        )
    if row is None:
        return None
    if row.request_hash != digest:
        raise conflict(
            "idempotency_key_reused", f"Idempotency-Key {key!r} was used with another body"
        )
    return await load(node, row.resource_id)


async def run_idempotent(
    node: Node,
    principal_id: str,
    scope: str,
    key: str | None,
    body: Any,
    create: Callable[[Tx], Awaitable[dict[str, Any]]],
    load: Loader,
) -> tuple[dict[str, Any], bool]:
    """Run ``create`` once per (principal, scope, key); return (resource, replayed).

    ``create`` returns a wire dict with an ``id``; ``load`` fetches it again for replays.
    Raises 409 idempotency_key_reused when the key was used with a different body.
    """
    if key is None:
        async with node.transaction() as tx:
            return await create(tx), False
    digest = body_hash(body)
    previous = await _replay(node, principal_id, scope, key, digest, load)
    if previous is not None:
        return previous, True
    try:
        async with node.transaction() as tx:
            created = await create(tx)
            await tx.session.execute(
                insert(IdempotencyRow).values(
                    principal_id=principal_id,
                    scope=scope,
                    key=key,
                    request_hash=digest,
                    resource_id=created["id"],
                    created_at=tx.now,
                )
            )
        return created, False
    except IntegrityError:
        previous = await _replay(node, principal_id, scope, key, digest, load)
        if previous is None:
            raise
        return previous, True
