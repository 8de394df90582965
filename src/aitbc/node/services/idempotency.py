"""Idempotency-Key handling: the first answer wins, a changed body is a conflict.

The key row is inserted in the same transaction as the resource it names. Two
concurrent requests with one key collide on the primary key; the loser rolls back
everything it did and replays the winner's resource.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from ...core.canonical import canonical_json
from ..problems import conflict
from ..tables import IDEMPOTENCY

if TYPE_CHECKING:
    from ..runtime import Node, Tx, WriteTx

Loader = Callable[["Node", str], Awaitable[dict[str, Any]]]
#: A unit (``def create(tx: WriteTx)``), or, for code written against
#: ``Node.transaction``, a coroutine function taking its session-based ``Tx``.
Creator = Callable[["WriteTx"], dict[str, Any]] | Callable[["Tx"], Awaitable[dict[str, Any]]]

_PREVIOUS = select(IDEMPOTENCY.c.request_hash, IDEMPOTENCY.c.resource_id).where(
    IDEMPOTENCY.c.principal_id == bindparam("principal_id"),
    IDEMPOTENCY.c.scope == bindparam("scope"),
    IDEMPOTENCY.c.key == bindparam("key"),
)
_INSERT_KEY = insert(IDEMPOTENCY)


def body_hash(body: Any) -> str:
    return hashlib.sha256(canonical_json(body)).hexdigest()


async def _replay(
    node: Node, principal_id: str, scope: str, key: str, digest: str, load: Loader
) -> dict[str, Any] | None:
    params = {"principal_id": principal_id, "scope": scope, "key": key}

    def read(conn: Connection) -> Any:
        return conn.execute(_PREVIOUS, params).first()

    row = await node.read(read)
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
    create: Creator,
    load: Loader,
) -> tuple[dict[str, Any], bool]:
    """Run ``create`` once per (principal, scope, key); return (resource, replayed).

    ``create`` returns a wire dict with an ``id``; ``load`` fetches it again for replays.
    Raises 409 idempotency_key_reused when the key was used with a different body.
    """
    if key is None:
        return await _create(node, create, None), False
    digest = body_hash(body)
    previous = await _replay(node, principal_id, scope, key, digest, load)
    if previous is not None:
        return previous, True
    record = {"principal_id": principal_id, "scope": scope, "key": key, "request_hash": digest}
    try:
        return await _create(node, create, record), False
    except IntegrityError:
        previous = await _replay(node, principal_id, scope, key, digest, load)
        if previous is None:
            raise
        return previous, True


async def _create(node: Node, create: Creator, record: dict[str, Any] | None) -> dict[str, Any]:
    """Run ``create`` and, when ``record`` is given, store the key in the same transaction."""
    if inspect.iscoroutinefunction(create):
        async with node.transaction() as legacy:
            created: dict[str, Any] = await create(legacy)  # type: ignore[arg-type]
            if record is not None:
                values = {**record, "resource_id": created["id"], "created_at": legacy.now}
                await legacy.session.execute(_INSERT_KEY, values)
        return created

    def unit(tx: WriteTx) -> dict[str, Any]:
        created: dict[str, Any] = create(tx)  # type: ignore[arg-type,assignment]
        if record is not None:
            values = {**record, "resource_id": created["id"], "created_at": tx.now}
            tx.conn.execute(_INSERT_KEY, values)
        return created

    return await node.write(unit)
