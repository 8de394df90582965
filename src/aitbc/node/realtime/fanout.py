"""Cross-worker wake-ups through Redis pub/sub.

Each worker publishes ``{"topic", "seq", "origin"}`` after a commit and listens on the
same channel; a notification from another worker wakes the local channel of that topic,
which reads the log once for all its subscribers. Pub/sub is at-most-once, so nothing
depends on a notification arriving: after the listener reconnects ``on_resync`` asks for
a check of every local topic (the service spaces them out), and the service's periodic
sweep catches anything else.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Callable

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from ..events import EventRecord
from ..redis_listen import listen_forever

log = logging.getLogger("aitbc.node.realtime")

_PUBLISH_QUEUE = 10_000


class RedisFanout:
    """Publishes local commits and turns other workers' commits into hub wake-ups.

    ``on_remote(topic)`` is called for each foreign notification; ``on_resync()`` when
    notifications may have been missed.
    """

    def __init__(
        self,
        url: str,
        channel: str,
        on_remote: Callable[[str], None],
        on_resync: Callable[[], None],
    ) -> None:
        self.channel = channel
        self.origin = uuid.uuid4().hex
        self._redis = aioredis.Redis.from_url(url)
        self._on_remote = on_remote
        self._on_resync = on_resync
        self._outbox: asyncio.Queue[str] = asyncio.Queue(_PUBLISH_QUEUE)
        self._tasks: list[asyncio.Task[None]] = []
        self.listening = asyncio.Event()

    async def start(self) -> None:
        """Start the publisher and the listener tasks."""
        self._tasks = [
            asyncio.create_task(self._publish_loop(), name="aitbc-fanout-publish"),
            asyncio.create_task(self._listen_loop(), name="aitbc-fanout-listen"),
        ]

    async def stop(self) -> None:
        """Stop both tasks and close every Redis connection."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self._redis.aclose()

    def announce(self, records: list[EventRecord]) -> None:
        """Queue one notification per topic (its newest seq); never blocks a commit."""
        newest: dict[str, int] = {}
        for record in records:
            newest[record.topic] = max(record.seq, newest.get(record.topic, 0))
        for topic, seq in newest.items():
            payload = json.dumps({"topic": topic, "seq": seq, "origin": self.origin})
            try:
                self._outbox.put_nowait(payload)
            except asyncio.QueueFull:
                # Redis is far behind: peers still catch up on their next sweep.
                log.warning("fan-out queue full; dropping a wake-up for %s", topic)

    async def _publish_loop(self) -> None:
        while True:
            payload = await self._outbox.get()
            try:
                await self._redis.publish(self.channel, payload)
            except (RedisError, OSError) as exc:
                log.warning("fan-out publish failed: %s", exc)
                await asyncio.sleep(0.5)

    async def _listen_loop(self) -> None:
        await listen_forever(self._listen_once, self.listening, "fan-out listener", log)

    async def _listen_once(self) -> None:
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.channel)
            self.listening.set()
            self._on_resync()  # anything published while we were away is in the log
            while True:
                message = await pubsub.get_message(timeout=1.0)
                if message is not None:
                    self._handle(message.get("data"))
        finally:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _handle(self, raw: object) -> None:
        try:
            note = json.loads(raw) if isinstance(raw, bytes | str) else None
        except ValueError:
            note = None
        if not isinstance(note, dict) or not isinstance(note.get("topic"), str):
            log.warning("ignoring a malformed fan-out message")
            return
        if note.get("origin") != self.origin:
            self._on_remote(note["topic"])
