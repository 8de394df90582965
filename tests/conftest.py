"""Fixtures shared by every test package.

PostgreSQL and Redis tests run against real servers named by ``AITBC_TEST_POSTGRES_URL``
and ``AITBC_TEST_REDIS_URL``. Without them the tests skip with a clear reason, except when
``AITBC_TEST_REQUIRE_SERVICES=1`` (CI), where a missing service is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

REQUIRE_SERVICES = os.environ.get("AITBC_TEST_REQUIRE_SERVICES") == "1"


#: The slowest test files (each a minute or more of subprocesses, devnets or fuzzing),
#: started first: under `make test`'s two workers (--dist loadfile hands out files in
#: collection order) they then run beside the many short files instead of being the tail.
SLOW_FILES = (
    "tests/contract/test_fuzz_openapi.py",
    "tests/settlement/test_settlement_properties.py",
    "tests/cli/test_demo.py",
    "tests/cli/test_demo_keep.py",
    "tests/miner/test_node_restart.py",
    "tests/node/test_hammer.py",
    "tests/examples/test_examples.py",
    "tests/devnet/test_cli_devnet.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(SLOW_FILES)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(SLOW_FILES)))


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


async def _connect_admin(admin_url: str) -> Any:
    asyncpg = pytest.importorskip("asyncpg")
    try:
        return await asyncpg.connect(admin_url)
    except (OSError, asyncpg.PostgresError) as exc:
        if REQUIRE_SERVICES:
            pytest.fail(f"PostgreSQL unreachable at {admin_url}: {exc}")
        pytest.skip(f"PostgreSQL unreachable at {admin_url}: {exc}")


async def _create_database(admin_url: str, template: str | None = None) -> str:
    """CREATE DATABASE (a copy of ``template`` when given); returns its async URL."""
    name = f"aitbc_t_{uuid.uuid4().hex[:12]}"
    conn = await _connect_admin(admin_url)
    try:
        copy = f' TEMPLATE "{template}"' if template else ""
        await conn.execute(f'CREATE DATABASE "{name}"{copy}')
    finally:
        await conn.close()
    base = admin_url.rsplit("/", 1)[0]
    return base.replace("postgresql://", "postgresql+asyncpg://", 1) + "/" + name


async def _drop_database(admin_url: str, url: str) -> None:
    conn = await _connect_admin(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
async def postgres_url(postgres_admin_url: str) -> AsyncIterator[str]:
    """A fresh, empty database for one test, dropped afterwards.

    Yields a SQLAlchemy async URL (``postgresql+asyncpg://...``).
    """
    url = await _create_database(postgres_admin_url)
    yield url
    await _drop_database(postgres_admin_url, url)


@pytest.fixture(scope="session")
def migrated_template() -> Iterator[str]:
    """A database migrated to head once per session (per xdist worker), never served.

    ``migrated_postgres_url`` databases are copies of it (``CREATE DATABASE ... TEMPLATE``),
    so a PostgreSQL node starts without running every migration again (about half of its
    start-up). Migrations from an empty database are tested on ``postgres_url``.
    """
    import asyncio

    from aitbc.node.database import create_engine, migrate

    admin_url = _service_url("AITBC_TEST_POSTGRES_URL", "PostgreSQL")

    async def build() -> str:
        url = await _create_database(admin_url)
        engine = create_engine(url)
        try:
            await migrate(engine)
        finally:
            await engine.dispose()  # a template must have no open connections
        return url

    url = asyncio.run(build())
    yield url.rsplit("/", 1)[1]
    asyncio.run(_drop_database(admin_url, url))


@pytest.fixture
async def migrated_postgres_url(
    postgres_admin_url: str, migrated_template: str
) -> AsyncIterator[str]:
    """A fresh database already migrated to head (no identity, no principals)."""
    url = await _create_database(postgres_admin_url, template=migrated_template)
    yield url
    await _drop_database(postgres_admin_url, url)


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The test Redis URL; tests must namespace their keys/channels (see redis_prefix)."""
    yield _service_url("AITBC_TEST_REDIS_URL", "Redis")


@pytest.fixture
def redis_prefix() -> str:
    """A unique key/channel prefix so parallel runs on one Redis never collide."""
    return f"aitbc-test-{uuid.uuid4().hex[:10]}"


# --- coordinator node fixtures (aitbc.node.embedded) -------------------------------------
# ``node``: a real node on SQLite in tmp_path; ``pg_node``: the same on a fresh PostgreSQL
# database; ``node_factory``: ``await node_factory(chain_id=5, database_url=None, **settings)``
# starts more nodes, all stopped at teardown. Each yields an EmbeddedNode with ``.url``,
# ``.admin_key``, ``.chain_id``, ``create_principal(role, name)`` and ``faucet(id, amount)``.

from collections.abc import Awaitable, Callable  # noqa: E402
from contextlib import AsyncExitStack  # noqa: E402
from pathlib import Path  # noqa: E402

NODE_TEST_SETTINGS: dict[str, Any] = {"sweep_interval": 0.2, "poll_recheck_seconds": 0.1}


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Any]:
    """A running node on SQLite (file in tmp_path), chain_id 1."""
    from aitbc.node.embedded import run_node

    url = f"sqlite+aiosqlite:///{tmp_path / 'node.sqlite3'}"
    async with run_node(url, chain_id=1, **NODE_TEST_SETTINGS) as running:
        yield running


@pytest.fixture
async def pg_node(migrated_postgres_url: str) -> AsyncIterator[Any]:
    """A running node on a fresh PostgreSQL database, chain_id 1."""
    from aitbc.node.embedded import run_node

    async with run_node(migrated_postgres_url, chain_id=1, **NODE_TEST_SETTINGS) as running:
        yield running


@pytest.fixture
async def node_factory(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Any]]]:
    """Start extra nodes: ``await node_factory(chain_id=5)`` (SQLite unless a URL is given)."""
    from aitbc.node.embedded import run_node

    async with AsyncExitStack() as stack:
        counter = 0

        async def start(chain_id: int = 1, database_url: str | None = None, **settings: Any) -> Any:
            nonlocal counter
            counter += 1
            url = database_url or f"sqlite+aiosqlite:///{tmp_path / f'node{counter}.sqlite3'}"
            merged = {**NODE_TEST_SETTINGS, **settings}
            return await stack.enter_async_context(run_node(url, chain_id=chain_id, **merged))

        yield start
