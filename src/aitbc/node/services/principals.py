"""Principals and their API keys. Keys are stored as SHA-256 hashes only."""

from __future__ import annotations

import hashlib
import logging
import secrets
import sys
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, insert, select, text

from ..clock import iso, new_id
from ..models import AccountRow, ApiKeyRow, PrincipalRow
from ..problems import NodeProblem
from ..tables import API_KEYS, PRINCIPALS

if TYPE_CHECKING:
    from ..runtime import Node, Tx

ROLES = ("client", "miner", "admin")
log = logging.getLogger("aitbc.node")
_ADMIN_LOCK = 0x41495443
_BY_KEY = (
    select(
        PRINCIPALS,
        API_KEYS.c.id.label("key_id"),
        API_KEYS.c.expires_at,
        API_KEYS.c.revoked_at,
    )
    .join(API_KEYS, API_KEYS.c.principal_id == PRINCIPALS.c.id)
    .where(API_KEYS.c.key_hash == bindparam("key_hash"))
)


@dataclass(frozen=True)
class Principal:
    """Who is acting: derived from the API key alone."""

    id: str
    role: str
    name: str
    created_at: datetime

    def wire(self) -> dict[str, Any]:
        """The wire ``Principal`` object."""
        return {
            "id": self.id,
            "role": self.role,
            "name": self.name,
            "created_at": iso(self.created_at),
        }


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def new_api_key() -> str:
    return "aitbc_" + secrets.token_urlsafe(32)


async def create_principal(
    tx: Tx, role: str, name: str, api_key: str | None = None
) -> tuple[Principal, str]:
    """Create a principal, its account and one API key; return both (key in plaintext)."""
    if role not in ROLES:
        raise NodeProblem(422, "validation_error", f"role must be one of {', '.join(ROLES)}")
    key = api_key or new_api_key()
    principal = Principal(new_id("prn"), role, name, tx.now)
    tx.session.add(PrincipalRow(id=principal.id, role=role, name=name, created_at=tx.now))
    await tx.session.flush()
    await tx.session.execute(
        insert(ApiKeyRow).values(
            key_hash=hash_key(key), principal_id=principal.id, created_at=tx.now
        )
    )
    await tx.session.execute(
        insert(AccountRow).values(id=principal.id, balance=0, created_at=tx.now)
    )
    return principal, key


@dataclass(frozen=True)
class KeyGrant:
    """A known key: its principal and the times after which it no longer works."""

    principal: Principal
    key_id: str
    expires_at: datetime | None
    revoked_at: datetime | None

    def refusal(self, now: datetime) -> NodeProblem | None:
        """Why the key does not work at ``now`` (401 ``key_revoked`` / ``key_expired``)."""
        if self.revoked_at is not None and now >= self.revoked_at:
            return NodeProblem(401, "key_revoked", f"API key {self.key_id} was revoked")
        if self.expires_at is not None and now >= self.expires_at:
            return NodeProblem(401, "key_expired", f"API key {self.key_id} has expired")
        return None


async def lookup_key(node: Node, api_key: str) -> KeyGrant | None:
    """What the node knows of ``api_key`` (valid or not), or None for an unknown key."""
    key_hash = hash_key(api_key)
    cached = node.key_cache.get(key_hash)
    if cached is not None:
        return cached
    row = await node.read(lambda conn: conn.execute(_BY_KEY, {"key_hash": key_hash}).first())
    if row is None:
        return None  # never cached: another worker may create this key next
    grant = KeyGrant(
        Principal(row.id, row.role, row.name, row.created_at),
        row.key_id,
        row.expires_at,
        row.revoked_at,
    )
    node.key_cache.put(key_hash, grant)
    return grant


async def authenticate(node: Node, api_key: str) -> Principal | None:
    """The principal owning ``api_key``, or None for an unknown, revoked or expired key."""
    grant = await lookup_key(node, api_key)
    if grant is None or grant.refusal(node.clock()) is not None:
        return None
    return grant.principal


async def ensure_admin(node: Node) -> str | None:
    """Make sure an admin can log in; return the key when this call generated one.

    A configured ``admin_key`` is registered if unknown. Without one, the first start
    of an empty node creates an admin key and prints it once to stderr. Workers starting
    together serialize here (SQLite write lock, PostgreSQL advisory lock): one admin.
    """
    configured = node.settings.admin_key
    async with node.transaction() as tx:
        if node.engine.dialect.name == "postgresql":
            await tx.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADMIN_LOCK})
        if configured is not None:
            known = await tx.session.scalar(
                select(ApiKeyRow.principal_id).where(ApiKeyRow.key_hash == hash_key(configured))
            )
            if known is None:
                await create_principal(tx, "admin", "admin", configured)
            return None
        if await tx.session.scalar(select(PrincipalRow.id).where(PrincipalRow.role == "admin")):
            return None
        _, key = await create_principal(tx, "admin", "admin")
    print(f"aitbc node: created admin API key {key}", file=sys.stderr)
    log.warning("created the first admin API key (printed to stderr)")
    return key
