"""Run a real node in-process on a loopback port: for tests, demos and benchmarks.

::

    async with run_node(chain_id=5) as node:      # SQLite in a temporary directory
        client_id, key = await node.create_principal("client", "alice")
        await node.faucet(client_id, 1_000)
        ...  # talk HTTP to node.url
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from ..errors import ConfigurationError
from .app import create_app
from .runtime import Node
from .schemas import Faucet
from .services import wallet
from .services.principals import create_principal, new_api_key
from .serving import UVICORN_OPTIONS
from .settings import NodeSettings


@dataclass
class EmbeddedNode:
    """A node serving on ``url``; ``admin_key`` is a working admin API key."""

    url: str
    admin_key: str
    chain_id: int
    settings: NodeSettings
    app: FastAPI

    @property
    def node(self) -> Node:
        """The running :class:`Node` (service layer, sessions, listeners)."""
        runtime: Node = self.app.state.node
        return runtime

    @property
    def ws_url(self) -> str:
        return "ws" + self.url[len("http") :] + "/v1/ws"

    async def create_principal(self, role: str, name: str) -> tuple[str, str]:
        """Create a principal directly in the database; returns (principal_id, api_key)."""
        async with self.node.transaction() as tx:
            principal, key = await create_principal(tx, role, name)
        return principal.id, key

    async def faucet(self, account_id: str, amount: int) -> dict[str, Any]:
        """Mint ``amount`` base units into ``account_id``; returns the Transfer."""
        return await wallet.faucet(self.node, Faucet(account_id=account_id, amount=str(amount)))


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without signal capture: the host process (a test, a demo) owns signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _serve(app: FastAPI) -> tuple[uvicorn.Server, asyncio.Task[None], int]:
    # A long keep-alive: on a loaded test machine, uvicorn's 5 s default closes idle pooled
    # connections just as a client reuses them (a ReadError that is nobody's bug).
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan="on",
        access_log=False,
        timeout_keep_alive=120,
        # Open SSE streams never finish on their own: cancel them (clients resume with
        # Last-Event-ID) instead of waiting forever on shutdown (aitbc.node.realtime).
        timeout_graceful_shutdown=2,
        **UVICORN_OPTIONS,
    )
    server = _EmbeddedServer(config)
    task = asyncio.create_task(server.serve(), name="aitbc-node-uvicorn")
    while not server.started:
        if task.done():
            await task
            raise ConfigurationError("node failed to start (see log)")
        await asyncio.sleep(0.01)
    port = int(server.servers[0].sockets[0].getsockname()[1])
    return server, task, port


@contextlib.asynccontextmanager
async def run_node(
    database_url: str | None = None, chain_id: int = 1, **settings: Any
) -> AsyncIterator[EmbeddedNode]:
    """Start a node on ``127.0.0.1`` (ephemeral port) and stop it on exit.

    ``database_url=None`` uses a fresh SQLite file in a temporary directory, removed
    afterwards. Other keyword arguments are :class:`NodeSettings` fields (e.g.
    ``lease_seconds=1``). Raises ConfigurationError if the node cannot start.
    """
    with tempfile.TemporaryDirectory(prefix="aitbc-node-") as tmp:
        url = database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'node.sqlite3'}"
        admin_key = settings.pop("admin_key", None) or new_api_key()
        config = NodeSettings(database_url=url, chain_id=chain_id, admin_key=admin_key, **settings)
        app = create_app(config)
        server, task, port = await _serve(app)
        try:
            yield EmbeddedNode(f"http://127.0.0.1:{port}", admin_key, chain_id, config, app)
        finally:
            app.state.node.stop_polls()
            server.should_exit = True
            await task
