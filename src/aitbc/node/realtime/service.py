"""The realtime service of one node process: hub, log access, fan-out, live connections."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Protocol

from ...core.streams import CLOSE_UNAUTHENTICATED
from ...errors import ConfigurationError
from ..events import EventRecord, fetch_events, fetch_last_seq
from ..runtime import Node
from ..services.principals import Principal, authenticate
from .fanout import RedisFanout
from .hub import READ_BATCH, EventHub

log = logging.getLogger("aitbc.node.realtime")


@dataclass(frozen=True)
class RealtimeSettings:
    """Limits and timers of the WS and SSE doors.

    ``outbound_queue`` bounds each connection's (or SSE stream's) unsent messages. When
    it is full, that subscription leaves its topic's live delivery and waits up to
    ``slow_consumer_grace`` seconds for room (the log keeps the events meanwhile, so
    waiting costs no memory); past that the node closes the connection (WS code 4008,
    SSE ``slow_consumer``) and the client resumes from its last seq. Nothing else waits.
    ``heartbeat_timeout`` closes a WS peer silent that long. Every ``resync_interval``
    each local topic checks the log once (spread over the interval, not all at once),
    catching commits of other workers whose notification was lost or never sent.
    """

    outbound_queue: int = 1024
    slow_consumer_grace: float = 2.0
    heartbeat_interval: float = 15.0
    heartbeat_timeout: float = 45.0
    auth_timeout: float = 10.0
    max_subscriptions: int = 256
    max_inflight: int = 256
    redis_channel: str = "aitbc:events"
    resync_interval: float = 30.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RealtimeSettings:
        """Defaults overridden by ``AITBC_REALTIME_<FIELD>`` variables (workers share them).

        Raises ConfigurationError when a value does not parse.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in fields(cls):
            raw = env.get("AITBC_REALTIME_" + field.name.upper())
            if raw:
                values[field.name] = _parse(field.name, type(getattr(cls, field.name)), raw)
        return cls(**values)


def _parse(name: str, kind: type, raw: str) -> Any:
    try:
        return kind(raw)
    except ValueError as exc:
        raise ConfigurationError(f"AITBC_REALTIME_{name.upper()}={raw!r}: {exc}") from exc


class Closable(Protocol):
    """A live connection the service can drop (WS connection or SSE stream)."""

    @property
    def key_hash(self) -> str | None:
        """The hash of the API key the connection was opened with (None: no key yet)."""
        ...

    def kill(self, code: int, reason: str) -> None: ...


class Realtime:
    """Per-process realtime state; created by :func:`aitbc.node.realtime.install`."""

    def __init__(self, node: Node, settings: RealtimeSettings) -> None:
        self.node = node
        self.settings = settings
        self.hub = EventHub(self.read, self.head)
        self.connections: set[Closable] = set()
        self.fanout: RedisFanout | None = None
        self._resync: asyncio.Task[None] | None = None
        self.slow_consumers_closed = 0  # connections cut off for not reading (a metric)
        self.log_reads = 0  # event-log queries made for delivery (a metric)
        if node.settings.redis_url:
            self.fanout = RedisFanout(
                node.settings.redis_url,
                settings.redis_channel,
                self.hub.notify,
                self._resync_soon,
            )
        self._catch_up_sweep: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Hook into the node's commits and start the fan-out (if Redis is configured).

        The periodic sweep runs with or without Redis: without it, other workers on the
        same database (``--workers``) are seen late, never lost.
        """
        if self.on_commit not in self.node.event_listeners:
            self.node.event_listeners.append(self.on_commit)
        if self.key_revoked not in self.node.revocations.listeners:
            self.node.revocations.listeners.append(self.key_revoked)
        if self.fanout is not None:
            await self.fanout.start()
        self._resync = asyncio.create_task(self._resync_loop(), name="aitbc-rt-resync")

    async def stop(self) -> None:
        """Drop every live connection and stop the fan-out."""
        self.kick_all(1001, "node shutting down")
        if self.on_commit in self.node.event_listeners:
            self.node.event_listeners.remove(self.on_commit)
        if self.fanout is not None:
            await self.fanout.stop()
        for task in (self._resync, self._catch_up_sweep):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self._resync = self._catch_up_sweep = None
        await self.hub.stop()

    async def _resync_loop(self) -> None:
        while True:
            await self.hub.sweep(self.settings.resync_interval)

    def _resync_soon(self) -> None:
        """Redis (re)connected: check every local topic once, within about a second."""
        if self._catch_up_sweep is None or self._catch_up_sweep.done():
            self._catch_up_sweep = asyncio.create_task(self.hub.sweep(1.0))

    async def on_commit(self, records: list[EventRecord]) -> None:
        """Event listener: wake local feeds now, tell other workers in the background."""
        self.hub.publish(records)
        if self.fanout is not None:
            self.fanout.announce(records)

    async def read(self, topic: str, after_seq: int) -> list[EventRecord]:
        """A batch of ``topic`` events after ``after_seq`` from the log (read path:
        on SQLite a read-only snapshot that never queues for the write lock)."""
        self.log_reads += 1
        return await self.node.read(lambda conn: fetch_events(conn, topic, after_seq, READ_BATCH))

    async def head(self, topic: str) -> int:
        """The newest seq of ``topic`` (0 when it has none), on the read path."""
        self.log_reads += 1
        return await self.node.read(lambda conn: fetch_last_seq(conn, topic))

    async def authenticate(self, api_key: str | None) -> Principal | None:
        """The principal of ``api_key`` (None for a missing or unknown key)."""
        if not api_key:
            return None
        return await authenticate(self.node, api_key)

    def key_revoked(self, key_hash: str, grace_seconds: float) -> None:
        """Close the connections opened with a key that stopped working, here or on
        another worker: now, or when a rotated key's grace runs out. (Requests re-check
        the key anyway; this ends the subscriptions that would otherwise keep flowing.)"""
        if grace_seconds > 0:
            asyncio.get_running_loop().call_later(grace_seconds, self._close_key, key_hash)
        else:
            self._close_key(key_hash)

    def _close_key(self, key_hash: str) -> None:
        for connection in [c for c in self.connections if c.key_hash == key_hash]:
            connection.kill(CLOSE_UNAUTHENTICATED, "API key revoked")

    def kick_all(self, code: int, reason: str) -> int:
        """Close every live WS connection and SSE stream; return how many.

        Operators use it to drain a worker; tests use it to prove clients resume.
        """
        victims = list(self.connections)
        for connection in victims:
            connection.kill(code, reason)
        return len(victims)
