"""Per-principal token buckets, one per route class, answering 429 with ``Retry-After``.

A principal is its API key (hashed; requests without one share a bucket per client
address). Miners' routes (``/v1/miners/*``: long-polls, heartbeats, results) draw from
their own class so that clients flooding the node never starve the miners serving it.
Buckets live in this worker's memory (:class:`TokenBuckets`), or, with ``redis_url``
set, in Redis (:class:`RedisTokenBuckets`), shared by every worker: one atomic script
refills and spends per request, so N workers together allow the configured rate, not N
times it. If Redis fails, a worker falls back to its own memory buckets until it is back.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from starlette.types import ASGIApp, Receive, Scope, Send

from ..core.envelope import error_envelope
from .middleware import request_id_of

MINER_PREFIX = "/v1/miners/"
log = logging.getLogger("aitbc.node")


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


# KEYS[1] the bucket; ARGV rate, burst, now (seconds). Returns the wait as a string (Lua
# numbers returned to Redis are truncated to integers; %.17g keeps every bit). A clock
# behind the stored stamp (workers' clocks differ a little) refills nothing rather than
# going back in time.
_TAKE = """
local rate, burst, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local saved = redis.call('HMGET', KEYS[1], 't', 's')
local tokens = tonumber(saved[1]) or burst
local stamp = tonumber(saved[2]) or now
if now > stamp then
  tokens = math.min(burst, tokens + (now - stamp) * rate)
  stamp = now
end
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 't', string.format('%.17g', tokens), 's', string.format('%.17g', stamp))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return string.format('%.17g', wait)
"""


class RedisTokenBuckets:
    """Token buckets shared by every worker through Redis (same answers as
    :class:`TokenBuckets`). ``clock`` is wall time, the one clock workers share."""

    def __init__(
        self, redis_url: str, prefix: str = "aitbc:rl:", clock: Callable[[], float] = time.time
    ) -> None:
        self.clock = clock
        self.prefix = prefix
        self._redis = aioredis.Redis.from_url(redis_url)
        self._take = self._redis.register_script(_TAKE)
        #: Used while Redis is unreachable, so the node keeps limiting (per worker).
        self.fallback = TokenBuckets(clock=clock)

    async def take(self, key: str, limit: Limit) -> float:
        """Spend one token; 0.0 when allowed, else the seconds until one is available."""
        args = [repr(limit.rate), repr(limit.burst), repr(self.clock())]
        try:
            wait = await self._take(keys=[self.prefix + key], args=args)
        except (RedisError, OSError) as exc:
            log.warning("rate limit: Redis unavailable (%s); limiting per worker", exc)
            self.fallback.clock = self.clock
            return self.fallback.take(key, limit)
        return float(wait)

    async def aclose(self) -> None:
        await self._redis.aclose()


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
        self,
        app: ASGIApp,
        limits: dict[str, Limit],
        buckets: TokenBuckets | RedisTokenBuckets | None = None,
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
        if isinstance(self.buckets, RedisTokenBuckets):
            wait = await self.buckets.take(key, limit)
        else:
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
