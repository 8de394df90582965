"""Per-principal token buckets, one per route class, answering 429 with ``Retry-After``.

A principal is its API key (hashed; requests without one share a bucket per client
address). Miners' routes (``/v1/miners/*``: long-polls, heartbeats, results) draw from
their own class so that clients flooding the node never starve the miners serving it.
Buckets live in this worker's memory: with N workers a principal gets up to N times the
configured rate.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from ..core.envelope import error_envelope
from .middleware import request_id_of

MINER_PREFIX = "/v1/miners/"


@dataclass(frozen=True)
class Limit:
    """``rate`` tokens per second, at most ``burst`` saved up; rate 0 means unlimited."""

    rate: float
    burst: float


class TokenBuckets:
    """Token buckets by key, bounded in number (least recently used dropped first)."""

    def __init__(
        self, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.clock = clock
        self._max = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str, limit: Limit) -> float:
        """Spend one token; 0.0 when allowed, else the seconds until one is available."""
        now = self.clock()
        tokens, stamp = self._buckets.get(key, (limit.burst, now))
        tokens = min(limit.burst, tokens + (now - stamp) * limit.rate)
        if tokens >= 1:
            self._buckets[key] = (tokens - 1, now)
            self._buckets.move_to_end(key)
            while len(self._buckets) > self._max:
                self._buckets.popitem(last=False)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1 - tokens) / limit.rate


def route_class(path: str) -> str:
    """``miner`` for the miner API, ``client`` for every other ``/v1`` route."""
    return "miner" if path.startswith(MINER_PREFIX) else "client"


def _principal(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-api-key":
            return "key:" + hashlib.sha256(value).hexdigest()
    client = scope.get("client") or ("unknown", 0)
    return f"addr:{client[0]}"


class RateLimitMiddleware:
    """Refuse requests over their principal's limit for the route class with 429."""

    def __init__(
        self, app: ASGIApp, limits: dict[str, Limit], buckets: TokenBuckets | None = None
    ) -> None:
        self.app = app
        self.limits = {name: limit for name, limit in limits.items() if limit.rate > 0}
        self.buckets = buckets or TokenBuckets()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        limit = self.limits.get(route_class(path)) if scope["type"] == "http" else None
        if limit is None or not path.startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        key = f"{route_class(path)}:{_principal(scope)}"
        wait = self.buckets.take(key, limit)
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        retry_after = max(1, math.ceil(wait))
        message = f"rate limit of {limit.rate:g} requests/s exceeded; retry in {retry_after} s"
        body = json.dumps(error_envelope("rate_limited", message, request_id_of(scope))).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(retry_after).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
