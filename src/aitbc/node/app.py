"""The ASGI app factory."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from . import realtime
from .dashboard import mount_dashboard
from .http_errors import install_error_handlers
from .metrics import NodeMetrics
from .middleware import RequestContextMiddleware
from .rate_limit import Limit, RateLimitMiddleware, RedisTokenBuckets, TokenBuckets
from .routes import admin, blobs, jobs, keys, marketplace, miners, openai, system, wallet
from .runtime import Node
from .settings import NodeSettings
from .sweeper import run_sweeper


def create_app(settings: NodeSettings | None = None) -> FastAPI:
    """Build the node's ASGI app. Nothing touches the database until startup (lifespan).

    On startup the app migrates the schema, loads its identity, bootstraps the admin
    key and starts the sweeper. ``app.state.node`` is the :class:`Node`;
    ``app.state.event_listeners`` is the list of post-commit event listeners.
    """
    settings = settings or NodeSettings.from_env()
    node = Node(settings)
    # Shared by every worker through Redis when configured, else this worker's memory.
    buckets: TokenBuckets | RedisTokenBuckets = (
        RedisTokenBuckets(settings.redis_url) if settings.redis_url else TokenBuckets()
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await node.start()
        task = asyncio.create_task(run_sweeper(node), name="aitbc-sweeper")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await node.close()
            if isinstance(buckets, RedisTokenBuckets):
                await buckets.aclose()

    telemetry = settings.opentelemetry
    app = FastAPI(
        title="aitbc coordinator node",
        version="1",
        lifespan=lifespan,
        telemetry={"tracing": telemetry, "metrics": telemetry, "logs": telemetry},
    )
    metrics = NodeMetrics()
    app.state.node = node
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.event_listeners = node.event_listeners
    install_error_handlers(app)
    for module in (system, admin, keys, jobs, miners, marketplace, wallet, blobs, openai):
        app.include_router(module.router)
    realtime.install(app, node)  # WS /v1/ws + SSE /v1/events (aitbc.node.realtime)
    mount_dashboard(app)  # the web dashboard at / (aitbc.node.dashboard)
    app.state.rate_buckets = buckets
    app.add_middleware(
        RateLimitMiddleware,
        limits={
            "client": Limit(settings.client_rate_per_second, settings.client_burst),
            "miner": Limit(settings.miner_rate_per_second, settings.miner_burst),
        },
        buckets=app.state.rate_buckets,
    )
    app.add_middleware(
        RequestContextMiddleware, metrics=metrics, max_body_bytes=settings.max_body_bytes
    )
    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory aitbc.node.app:app_from_env`` (settings from env)."""
    return create_app(NodeSettings.from_env())
