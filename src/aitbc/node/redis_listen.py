"""Keep a Redis subscription alive: the one reconnect loop of the node's listeners.

The fan-out (``realtime/fanout.py``) and the key revocations (``key_revocations.py``) each
subscribe to a channel for the life of the worker. When Redis goes away they reconnect
with the backoff every aitbc retry loop uses (``core/backoff.py``), and ``listening`` is
clear until they are subscribed again, so tests and callers can wait for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from redis.exceptions import RedisError

from ..core.backoff import backoff_ceiling

#: Seconds before the first reconnect, and the longest wait between two.
RECONNECT_BASE = 0.1
RECONNECT_CAP = 5.0


async def listen_forever(
    listen_once: Callable[[], Awaitable[None]],
    listening: asyncio.Event,
    what: str,
    log: logging.Logger,
) -> None:
    """Run ``listen_once`` (which sets ``listening`` once subscribed) until cancelled,
    reconnecting after every Redis failure."""
    failures = 0
    while True:
        try:
            await listen_once()
        except (RedisError, OSError) as exc:
            failures += 1
            log.warning("%s lost Redis (%s); reconnecting", what, exc)
            listening.clear()
            await asyncio.sleep(backoff_ceiling(failures, base=RECONNECT_BASE, cap=RECONNECT_CAP))
