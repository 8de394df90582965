"""Tell every worker that a key stopped working, so none keeps it in its key cache.

The revoking worker drops the key from its own cache at once. With ``redis_url`` set it
also publishes the key's hash (a SHA-256 of the key, never the key) on a Redis channel
that every worker listens on; each drops the entry as the message arrives, well within
a second. Pub/sub is at-most-once: a worker that missed a message (Redis down, listener
reconnecting) still re-reads the key when its cache entry's time-to-live runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from .redis_listen import listen_forever

if TYPE_CHECKING:
    from .key_cache import KeyCache

log = logging.getLogger("aitbc.node")

CHANNEL = "aitbc:keys:revoked"


class KeyRevocations:
    """Drops revoked keys from this worker's cache and, through Redis, from every other's."""

    def __init__(self, cache: KeyCache[Any], redis_url: str | None, channel: str = CHANNEL):
        self.cache = cache
        self.channel = channel
        self._redis = aioredis.Redis.from_url(redis_url) if redis_url else None
        self._task: asyncio.Task[None] | None = None
        #: Set while subscribed (tests wait on it before revoking).
        self.listening = asyncio.Event()
        #: Called on this worker for every revocation, here or on another worker, with the
        #: key's hash and the seconds it keeps working (0: stopped now; a rotated key's
        #: grace otherwise): realtime closes the connections opened with that key.
        self.listeners: list[Callable[[str, float], None]] = []

    async def start(self) -> None:
        if self._redis is not None:
            self._task = asyncio.create_task(self._listen_loop(), name="aitbc-key-revocations")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._redis is not None:
            await self._redis.aclose()

    async def revoked(self, key_hash: str, grace_seconds: float = 0.0) -> None:
        """Forget ``key_hash`` here now and announce it to the other workers; the key
        stops working at once, or after ``grace_seconds`` (a rotated key)."""
        self._drop(key_hash, grace_seconds)
        if self._redis is None:
            return
        try:
            await self._redis.publish(self.channel, f"{key_hash} {grace_seconds:g}")
        except (RedisError, OSError) as exc:
            # The other workers still drop it when their cache entry expires.
            log.warning("could not announce a key revocation: %s", exc)

    async def _listen_loop(self) -> None:
        await listen_forever(self._listen_once, self.listening, "key revocation listener", log)

    async def _listen_once(self) -> None:
        assert self._redis is not None
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.channel)
            self.listening.set()
            while True:
                message = await pubsub.get_message(timeout=1.0)
                if message is not None:
                    data = message.get("data")
                    if isinstance(data, bytes):
                        self._announced(data.decode("ascii", "replace"))
        finally:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _announced(self, message: str) -> None:
        key_hash, _, grace = message.partition(" ")
        try:
            grace_seconds = max(0.0, float(grace or 0))
        except ValueError:
            grace_seconds = 0.0
        self._drop(key_hash, grace_seconds)

    def _drop(self, key_hash: str, grace_seconds: float) -> None:
        self.cache.forget(key_hash)
        for listener in self.listeners:
            listener(key_hash, grace_seconds)
