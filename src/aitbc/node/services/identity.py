"""The node's persistent identity: chain id, coordinator id and receipt-signing key."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ...core.signing import SigningKey
from ...errors import ConfigurationError
from ..models import MetaRow

if TYPE_CHECKING:
    from ..runtime import Node


async def _get_or_set(session: AsyncSession, key: str, proposed: str) -> str:
    """The stored value of ``key``, storing ``proposed`` first if there is none.

    Safe when several workers start at once: the loser of the insert reads the winner's.
    """
    stored = await session.scalar(select(MetaRow.value).where(MetaRow.key == key))
    if stored is not None:
        return stored
    try:
        async with session.begin_nested():
            await session.execute(insert(MetaRow).values(key=key, value=proposed))
    except IntegrityError:
        stored = await session.scalar(select(MetaRow.value).where(MetaRow.key == key))
        if stored is None:
            raise
        return stored
    return proposed


async def load_identity(node: Node) -> tuple[SigningKey, str]:
    """Return the signing key and coordinator id, creating them on first start.

    Raises ConfigurationError when the database was created for another chain id.
    """
    settings = node.settings
    async with node.sessions() as session, session.begin():
        chain = await _get_or_set(session, "chain_id", str(settings.chain_id))
        if chain != str(settings.chain_id):
            raise ConfigurationError(
                f"database belongs to chain {chain}, not chain {settings.chain_id}"
            )
        coordinator_id = await _get_or_set(
            session, "coordinator_id", "coord_" + secrets.token_hex(8)
        )
        seed = await _get_or_set(session, "signing_seed", SigningKey.generate().seed_b64)
    if settings.signing_key_seed:
        seed = settings.signing_key_seed
    return SigningKey.from_seed_b64(seed), coordinator_id
