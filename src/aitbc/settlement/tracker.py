"""A background task that polls unfinished settlements until they settle or fail."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from ..errors import AITBCError

__all__ = ["SettlementTracker"]

log = logging.getLogger(__name__)

# Returns True while the settlement still needs watching.
RefreshFn = Callable[[str], Awaitable[bool]]


class SettlementTracker:
    """Polls each tracked message id every ``interval`` seconds through ``refresh``.

    One task serves every id, so a manager with many pending settlements still runs one
    poller. ``refresh`` errors are logged and the id stays tracked: a chain that is
    briefly unreachable must not lose a settlement.
    """

    def __init__(self, refresh: RefreshFn, interval: float) -> None:
        if interval <= 0:
            raise ValueError("poll interval must be positive")
        self._refresh = refresh
        self._interval = interval
        self._ids: dict[str, None] = {}  # insertion-ordered set
        self._task: asyncio.Task[None] | None = None

    @property
    def tracked(self) -> list[str]:
        """Message ids currently watched."""
        return list(self._ids)

    def track(self, message_id: str) -> None:
        """Watch ``message_id`` from the next poll on (starts the poller on first use).

        The first poll comes one interval later: right after a send the chain has
        nothing new to say.
        """
        self._ids[message_id] = None
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    def untrack(self, message_id: str) -> None:
        self._ids.pop(message_id, None)

    async def _run(self) -> None:
        while self._ids:
            await asyncio.sleep(self._interval)
            for message_id in list(self._ids):
                await self._poll_one(message_id)

    async def _poll_one(self, message_id: str) -> None:
        try:
            keep = await self._refresh(message_id)
        except AITBCError as exc:
            log.warning("settlement %s: status poll failed: %s", message_id, exc)
            return
        if not keep:
            self.untrack(message_id)

    async def close(self) -> None:
        """Stop polling; tracked ids are forgotten (the store still has them)."""
        self._ids.clear()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
