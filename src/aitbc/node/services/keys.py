"""API key lifecycle: list, create, revoke and rotate a principal's keys.

Keys are stored as SHA-256 hashes; the plaintext is returned once, by create and rotate,
and never stored or logged. Revoking sets ``revoked_at`` (the moment the key stops
working); rotating makes a new key and sets the old one's ``revoked_at`` to the end of
the grace period the caller chose. A principal manages its own keys; an admin anyone's.
Every change is written to the audit log in the same unit. After the commit the caller
(:func:`revoke` / :func:`rotate`) drops the key from this worker's cache and tells the
other workers (:mod:`..key_revocations`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, insert, select, update

from ..clock import iso, new_id
from ..models import ApiKeyRow
from ..problems import conflict, forbidden, not_found
from ..schemas import KeyCreate, KeyRotate
from ..tables import API_KEYS, PRINCIPALS
from . import audit
from .pagination import fetch_page
from .principals import Principal, hash_key, new_api_key

if TYPE_CHECKING:
    from ..runtime import Node, WriteTx

_KEY = select(API_KEYS).where(API_KEYS.c.id == bindparam("key_id"))
_PRINCIPAL = select(PRINCIPALS.c.id).where(PRINCIPALS.c.id == bindparam("principal_id"))


def key_state(row: Any, now: datetime) -> str:
    """``active``, ``rotating`` (revoked at a future moment), ``revoked`` or ``expired``."""
    if row.revoked_at is not None:
        return "revoked" if now >= row.revoked_at else "rotating"
    if row.expires_at is not None and now >= row.expires_at:
        return "expired"
    return "active"


def key_wire(row: Any, now: datetime) -> dict[str, Any]:
    """The wire ``ApiKey`` (never the key or its hash)."""
    return {
        "id": row.id,
        "principal_id": row.principal_id,
        "name": row.name,
        "created_at": iso(row.created_at),
        "expires_at": iso(row.expires_at),
        "revoked_at": iso(row.revoked_at),
        "state": key_state(row, now),
    }


def owner_for(principal: Principal, principal_id: str | None) -> str:
    """Whose keys ``principal`` asks about: its own, or (admins only) anyone's."""
    if principal_id is None or principal_id == principal.id:
        return principal.id
    if principal.role != "admin":
        raise forbidden("only an admin may manage another principal's keys")
    return principal_id


async def list_keys(
    node: Node, principal: Principal, principal_id: str | None, limit: int, cursor: str | None
) -> dict[str, Any]:
    owner = owner_for(principal, principal_id)
    stmt = select(API_KEYS).where(API_KEYS.c.principal_id == owner)
    now = node.clock()
    return await fetch_page(node, stmt, ApiKeyRow, limit, cursor, lambda r: key_wire(r, now))


def _expiry(now: datetime, seconds: int | None) -> datetime | None:
    return None if seconds is None else now + timedelta(seconds=seconds)


def _insert_key(
    tx: WriteTx, owner: str, name: str | None, expires_in: int | None
) -> tuple[dict[str, Any], str]:
    """Insert a fresh key for ``owner``; (its wire form, the plaintext key)."""
    plaintext = new_api_key()
    values = {
        "key_hash": hash_key(plaintext),
        "id": new_id("key"),
        "principal_id": owner,
        "name": name,
        "created_at": tx.now,
        "expires_at": _expiry(tx.now, expires_in),
        "revoked_at": None,
    }
    tx.conn.execute(insert(API_KEYS).values(**values))
    row = tx.conn.execute(_KEY, {"key_id": values["id"]}).one()
    return key_wire(row, tx.now), plaintext


def _create(tx: WriteTx, actor: Principal, req: KeyCreate) -> dict[str, Any]:
    owner = owner_for(actor, req.principal_id)
    if tx.conn.execute(_PRINCIPAL, {"principal_id": owner}).first() is None:
        raise not_found("principal_not_found", "principal", owner)
    key, plaintext = _insert_key(tx, owner, req.name, req.expires_in_seconds)
    audit.record(
        tx, actor.id, "key.create", key["id"], principal_id=owner, expires_at=key["expires_at"]
    )
    return {"key": key, "api_key": plaintext}


async def create_key(node: Node, actor: Principal, req: KeyCreate) -> dict[str, Any]:
    """A new key for the actor (or, for an admin, ``req.principal_id``); shown once."""
    return await node.write(lambda tx: _create(tx, actor, req))


def _visible_key(tx: WriteTx, actor: Principal, key_id: str) -> Any:
    row = tx.conn.execute(_KEY.with_for_update(), {"key_id": key_id}).first()
    if row is None or (actor.role != "admin" and row.principal_id != actor.id):
        raise not_found("key_not_found", "key", key_id)
    return row


def _end_key(tx: WriteTx, row: Any, at: datetime) -> Any:
    """Make ``row`` stop working at ``at`` (never later than an earlier end)."""
    end = at if row.revoked_at is None else min(row.revoked_at, at)
    tx.conn.execute(update(API_KEYS).where(API_KEYS.c.id == row.id).values(revoked_at=end))
    return tx.conn.execute(_KEY, {"key_id": row.id}).one()


def _revoke(tx: WriteTx, actor: Principal, key_id: str) -> tuple[dict[str, Any], str]:
    row = _visible_key(tx, actor, key_id)
    done = _end_key(tx, row, tx.now)
    audit.record(tx, actor.id, "key.revoke", key_id, principal_id=row.principal_id)
    return key_wire(done, tx.now), row.key_hash


async def revoke_key(node: Node, actor: Principal, key_id: str) -> dict[str, Any]:
    """Stop the key now (revoking a revoked key changes nothing); every worker drops it."""
    key, key_hash = await node.write(lambda tx: _revoke(tx, actor, key_id))
    await node.revocations.revoked(key_hash)
    return key


def _rotate(
    tx: WriteTx, actor: Principal, key_id: str, req: KeyRotate
) -> tuple[dict[str, Any], str]:
    row = _visible_key(tx, actor, key_id)
    state = key_state(row, tx.now)
    if state != "active":
        raise conflict("key_not_active", f"key {key_id} is {state}; only an active key rotates")
    old = _end_key(tx, row, tx.now + timedelta(seconds=req.grace_seconds))
    key, plaintext = _insert_key(tx, row.principal_id, row.name, req.expires_in_seconds)
    audit.record(
        tx,
        actor.id,
        "key.rotate",
        key_id,
        principal_id=row.principal_id,
        new_key_id=key["id"],
        grace_seconds=req.grace_seconds,
    )
    return {"key": key, "api_key": plaintext, "previous": key_wire(old, tx.now)}, row.key_hash


async def rotate_key(node: Node, actor: Principal, key_id: str, req: KeyRotate) -> dict[str, Any]:
    """A new key replacing ``key_id``, which keeps working for ``grace_seconds``."""
    rotated, old_hash = await node.write(lambda tx: _rotate(tx, actor, key_id, req))
    # Cached entries carry the old key's end time only after a re-read: drop them now.
    await node.revocations.revoked(old_hash, grace_seconds=req.grace_seconds)
    return rotated
