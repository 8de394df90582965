"""``aitbc serve`` (run the coordinator node) and ``aitbc keys create`` (make API keys).

Options fall back to ``AITBC_NODE_*`` environment variables, then to the defaults of
:class:`aitbc.node.settings.NodeSettings`.
"""

from __future__ import annotations

import asyncio
import json
import os
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import ConfigurationError

if TYPE_CHECKING:
    from ..node.settings import NodeSettings

DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help="sqlite+aiosqlite:///file or postgresql+asyncpg://..."),
]
ChainId = Annotated[int | None, typer.Option("--chain-id", help="Chain id this node serves.")]

keys_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="TCP port (0 = any free port).")
    ] = 8000,
    database_url: DatabaseUrl = None,
    chain_id: ChainId = None,
    signing_key_seed: Annotated[
        str | None, typer.Option(help="Base64url Ed25519 seed for receipt signing.")
    ] = None,
    lease_seconds: Annotated[float | None, typer.Option(help="Job lease length.")] = None,
    max_attempts: Annotated[int | None, typer.Option(help="Leases before FAILED.")] = None,
    admin_key: Annotated[
        str | None, typer.Option(help="Admin API key to register on start.")
    ] = None,
    redis_url: Annotated[str | None, typer.Option(help="Redis for event fan-out.")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Run the coordinator node (migrates the database on start)."""
    import uvicorn

    from ..node.serving import UVICORN_OPTIONS
    from ..node.settings import NodeSettings

    try:
        settings = NodeSettings.from_env().with_changes(
            database_url=database_url,
            chain_id=chain_id,
            signing_key_seed=signing_key_seed,
            lease_seconds=lease_seconds,
            max_attempts=max_attempts,
            admin_key=admin_key,
            redis_url=redis_url,
        )
    except ConfigurationError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if workers == 1:
        _serve_one(settings, host, port, log_level)
        return
    # Workers are separate processes: they read the same settings from the environment.
    os.environ.update(settings.to_env())
    uvicorn.run(
        "aitbc.node.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        timeout_graceful_shutdown=10,  # open SSE streams are cancelled, clients resume
        **UVICORN_OPTIONS,
    )


def _serve_one(settings: NodeSettings, host: str, port: int, log_level: str) -> None:
    """One process: on SIGINT/SIGTERM, waiting long-polls answer 204 before shutdown."""
    import uvicorn

    from ..node.app import create_app
    from ..node.serving import UVICORN_OPTIONS

    app = create_app(settings)

    class _Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            # Only a flag: safe inside a signal handler; pollers see it within a recheck.
            app.state.node.stopping = True
            super().handle_exit(sig, frame)

    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        timeout_graceful_shutdown=10,
        **UVICORN_OPTIONS,
    )
    _Server(config).run()


async def _create_key(
    database_url: str | None, chain_id: int | None, role: str, name: str
) -> dict[str, str]:
    from ..node.runtime import Node
    from ..node.services.principals import create_principal
    from ..node.settings import NodeSettings

    settings = NodeSettings.from_env().with_changes(database_url=database_url, chain_id=chain_id)
    node = Node(settings)
    try:
        await node.start(bootstrap_admin=False)
        async with node.transaction() as tx:
            principal, key = await create_principal(tx, role, name)
    finally:
        await node.close()
    return {"principal_id": principal.id, "role": role, "name": name, "api_key": key}


@keys_app.command("create")
def create_key(
    role: Annotated[str, typer.Option(help="client, miner or admin.")],
    name: Annotated[str, typer.Option(help="Display name of the principal.")],
    database_url: DatabaseUrl = None,
    chain_id: ChainId = None,
) -> None:
    """Create a principal and print its API key once, as JSON."""
    if role not in ("client", "miner", "admin"):
        raise typer.BadParameter("role must be client, miner or admin", param_hint="--role")
    try:
        created = asyncio.run(_create_key(database_url, chain_id, role, name))
    except ConfigurationError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(json.dumps(created))


def register(app: typer.Typer) -> None:
    """Add ``serve`` and ``keys`` to the ``aitbc`` command."""
    app.command("serve")(serve)
    app.add_typer(keys_app, name="keys")
