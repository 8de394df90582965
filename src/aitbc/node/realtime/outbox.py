"""A connection's bounded outbound FIFO, built to cost almost nothing while idle.

Thousands of subscribers sit idle most of the time, so each connection's queue is a plain
list, plus futures only while a producer waits for room (an ``asyncio.Queue`` carries
four deques and an event: about 3 KiB per connection before anything is queued). The
writer takes everything queued at once, so a burst costs one wake-up, not one per message.
"""

from __future__ import annotations

import asyncio
from typing import Generic, TypeVar

T = TypeVar("T")


class Outbox(Generic[T]):
    """Bounded FIFO: ``offer`` never waits, ``put`` waits (bounded) for room,
    ``take`` drains everything queued (the connection's writer sends it)."""

    __slots__ = ("_items", "_room", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._items: list[T] = []
        self._room: list[asyncio.Future[None]] | None = None

    def __len__(self) -> int:
        return len(self._items)

    def offer(self, item: T) -> bool:
        """Queue ``item`` now; False (nothing queued) when the outbox is full."""
        if len(self._items) >= self.limit:
            return False
        self._items.append(item)
        return True

    async def put(self, item: T, grace: float) -> bool:
        """Queue ``item``, waiting up to ``grace`` seconds for room; False on timeout."""
        return self.offer(item) or (await self.room(grace) and self.offer(item))

    async def room(self, grace: float) -> bool:
        """Wait up to ``grace`` seconds until an item fits; False on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while len(self._items) >= self.limit:
            waiter = loop.create_future()
            if self._room is None:
                self._room = []
            self._room.append(waiter)
            try:
                async with asyncio.timeout_at(deadline):
                    await waiter
            except TimeoutError:
                return False
            finally:
                if self._room is not None and waiter in self._room:
                    self._room.remove(waiter)
        return True

    def take(self) -> list[T]:
        """Everything queued, oldest first (the outbox is empty afterwards)."""
        items, self._items = self._items, []
        if items and self._room:
            room, self._room = self._room, None
            for waiter in room:
                if not waiter.done():
                    waiter.set_result(None)
        return items

    def clear(self) -> None:
        """Drop everything queued (the connection is going away)."""
        self.take()
