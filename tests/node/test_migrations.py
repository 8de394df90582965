"""The Alembic migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from aitbc.errors import ConfigurationError
from aitbc.node.database import create_engine, migrate
from aitbc.node.models import Base
from aitbc.node.runtime import Node
from aitbc.node.settings import NodeSettings


def _diff(conn: Connection) -> list[Any]:
    return list(compare_metadata(MigrationContext.configure(conn), Base.metadata))


async def _check(url: str) -> None:
    engine = create_engine(url)
    try:
        await migrate(engine)
        await migrate(engine)  # a second start is a no-op
        async with engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
            accounts = await conn.execute(text("SELECT id, balance FROM accounts ORDER BY id"))
            assert accounts.all() == [("sys:escrow", 0), ("sys:mint", 0)]
        await migrate(engine, "base", down=True)
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
            assert set(tables) <= {"alembic_version"}
        await migrate(engine)
    finally:
        await engine.dispose()


async def test_migrations_on_sqlite(tmp_path: Path) -> None:
    await _check(f"sqlite+aiosqlite:///{tmp_path / 'm.sqlite3'}")


@pytest.mark.postgres
async def test_migrations_on_postgres(postgres_url: str) -> None:
    await _check(postgres_url)


async def test_database_remembers_its_chain_and_key(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'n.sqlite3'}"
    first = Node(NodeSettings(database_url=url, chain_id=7))
    await first.start()
    await first.close()
    again = Node(NodeSettings(database_url=url, chain_id=7))
    await again.start()
    await again.close()
    assert again.coordinator_id == first.coordinator_id
    assert again.signing_key.key_id == first.signing_key.key_id
    assert first.created_admin_key is not None and again.created_admin_key is None
    other_chain = Node(NodeSettings(database_url=url, chain_id=8))
    with pytest.raises(ConfigurationError, match="chain 7"):
        await other_chain.start()
    await other_chain.close()


def test_bad_database_url_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        create_engine("mysql://nobody@localhost/x")


async def test_keys_made_before_0003_get_ids_on_sqlite(tmp_path: Path) -> None:
    await _check_key_ids(f"sqlite+aiosqlite:///{tmp_path / 'k.sqlite3'}")


@pytest.mark.postgres
async def test_keys_made_before_0003_get_ids_on_postgres(postgres_url: str) -> None:
    await _check_key_ids(postgres_url)


async def _check_key_ids(url: str) -> None:
    """Keys inserted at 0002 get distinct ids from 0003 and no end time."""
    engine = create_engine(url)
    try:
        await migrate(engine, "0002_ai")
        async with engine.begin() as conn:
            for n in range(3):
                await conn.execute(
                    text(
                        "INSERT INTO principals (id, role, name, created_at)"
                        " VALUES (:id, 'client', 'old', CURRENT_TIMESTAMP)"
                    ),
                    {"id": f"prn_{n}"},
                )
                await conn.execute(
                    text(
                        "INSERT INTO api_keys (key_hash, principal_id, created_at)"
                        " VALUES (:h, :id, CURRENT_TIMESTAMP)"
                    ),
                    {"h": f"{n:064x}", "id": f"prn_{n}"},
                )
        await migrate(engine)
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT id, revoked_at FROM api_keys"))).all()
        assert len({r.id for r in rows}) == 3
        assert all(r.id.startswith("key_") and r.revoked_at is None for r in rows)
    finally:
        await engine.dispose()
