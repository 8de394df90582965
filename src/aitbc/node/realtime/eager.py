"""Run an awaitable eagerly: to completion at once when it never has to wait.

The server's ASGI ``send`` almost never waits (only while a peer's socket is full), yet
awaiting it from a task costs a task, a loop iteration and a wake-up per frame: for a
fan-out to thousands of subscribers, more than the frame itself. :func:`start` steps the
awaitable in the caller (what Python 3.12's eager tasks do) and hands back the rest only
when it really suspends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Coroutine, Generator
from typing import Any


def start(awaitable: Awaitable[None]) -> Coroutine[Any, Any, None] | None:
    """Step ``awaitable`` now. None when it finished (an exception it raised
    propagates); otherwise a coroutine that finishes it, to be awaited (e.g. in a task)."""
    steps = awaitable.__await__()
    try:
        waiting = steps.send(None)
    except StopIteration:
        return None
    return _finish(steps, waiting)


async def _finish(steps: Generator[Any, None, None], waiting: Any) -> None:
    """Drive ``steps`` on from a suspension the way a task would: wait for what it
    yielded (a future, or None for a bare yield), then resume it."""
    while True:
        try:
            if waiting is None:
                await asyncio.sleep(0)
            else:
                waiting._asyncio_future_blocking = False  # as Task does when it takes it
                # wait(), not await: the future's own outcome is the awaitable's to see.
                await asyncio.wait([waiting])
        except asyncio.CancelledError:
            steps.close()
            raise
        try:
            waiting = steps.send(None)
        except StopIteration:
            return
