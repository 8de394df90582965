"""Fixtures shared by every test package.

PostgreSQL and Redis tests run against real servers named by ``AITBC_TEST_POSTGRES_URL``
and ``AITBC_TEST_REDIS_URL``. Without them the tests skip with a clear reason, except when
``AITBC_TEST_REQUIRE_SERVICES=1`` (CI), where a missing service is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

REQUIRE_SERVICES = os.environ.get("AITBC_TEST_REQUIRE_SERVICES") == "1"


def _service_url(env_name: str, what: str) -> str:
    url = os.environ.get(env_name)
    if not url:
        if REQUIRE_SERVICES:
            pytest.fail(f"{env_name} is not set but AITBC_TEST_REQUIRE_SERVICES=1")
        pytest.skip(f"{what} tests need {env_name} (e.g. set by .ci/run)")
    return url


@pytest.fixture
def postgres_admin_url() -> str:
    """The server-level URL (``postgresql://...``) of the test PostgreSQL."""
    return _service_url("AITBC_TEST_POSTGRES_URL", "PostgreSQL")


@pytest.fixture
async def postgres_url(postgres_admin_url: str) -> AsyncIterator[str]:
    """A fresh, empty database for one test, dropped afterwards.

    Yields a SQLAlchemy async URL (``postgresql+asyncpg://...``).
    """
    asyncpg = pytest.importorskip("asyncpg")
    name = f"aitbc_t_{uuid.uuid4().hex[:12]}"
    try:
        conn = await asyncpg.connect(postgres_admin_url)
    except (OSError, asyncpg.PostgresError) as exc:
        if REQUIRE_SERVICES:
            pytest.fail(f"PostgreSQL unreachable at {postgres_admin_url}: {exc}")
        pytest.skip(f"PostgreSQL unreachable at {postgres_admin_url}: {exc}")
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = postgres_admin_url.rsplit("/", 1)[0]
    yield base.replace("postgresql://", "postgresql+asyncpg://", 1) + "/" + name
    conn = await asyncpg.connect(postgres_admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The test Redis URL; tests must namespace their keys/channels (see redis_prefix)."""
    yield _service_url("AITBC_TEST_REDIS_URL", "Redis")


@pytest.fixture
def redis_prefix() -> str:
    """A unique key/channel prefix so parallel runs on one Redis never collide."""
    return f"aitbc-test-{uuid.uuid4().hex[:10]}"
