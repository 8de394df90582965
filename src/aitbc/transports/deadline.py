"""Deadline: the time limit of one whole call, and the cancel scope that enforces it.

``with deadline:`` does what ``asyncio.timeout`` does (the running task is cancelled
when the time is up, that cancellation leaves the block as TimeoutError, and a cancel
from anyone else passes through as CancelledError) at a fraction of its cost, because
every SDK call pays it. On Python 3.11 ``asyncio.timeout`` costs ~9 µs per call, some 7%
of a small request's client CPU; a bare ``loop.call_at`` and its cancel still ~3 µs.
Here deadlines share loop timers: each is rounded up to a tick (at most 1/16 of its
length, at most 1 s: aiohttp rounds its own timeouts past 5 s to whole seconds too),
and one timer per tick and event loop cancels every task whose deadline is in it. A
call then costs a set insertion and removal.
"""

from __future__ import annotations

import asyncio
import math
import time
import weakref
from types import TracebackType
from typing import Any

__all__ = ["Deadline"]

#: Ticks are powers of two between these (seconds): a deadline fires at most a tick late.
_MIN_TICK_EXP = -10  # ~1 ms
_MAX_TICK_EXP = 0  # 1 s
#: A deadline of length L gets a tick of at most L / 2**_TICK_SHIFT.
_TICK_SHIFT = 4


class _Ticks:
    """The armed deadlines of one event loop, grouped by the tick they expire at."""

    __slots__ = ("__weakref__", "due", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.due: dict[float, set[Deadline]] = {}

    def add(self, deadline: Deadline, left: float) -> set[Deadline]:
        """Arm ``deadline`` to expire ``left`` seconds from now, rounded up to its tick;
        returns the tick's set (the deadline removes itself from it when done)."""
        # 2**(e-1) <= left < 2**e for frexp's e; nothing left: the finest tick.
        exponent = math.frexp(left)[1] - 1 - _TICK_SHIFT if left > 0 else _MIN_TICK_EXP
        tick = math.ldexp(1.0, min(_MAX_TICK_EXP, max(_MIN_TICK_EXP, exponent)))
        when = math.ceil((self.loop.time() + left) / tick) * tick
        armed = self.due.get(when)
        if armed is None:
            armed = self.due[when] = set()
            self.loop.call_at(when, self._expire, when)
        armed.add(deadline)
        return armed

    def _expire(self, when: float) -> None:
        for deadline in self.due.pop(when, ()):
            deadline._expire()


_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Ticks] = weakref.WeakKeyDictionary()
# The last loop's ticks, checked first (one loop per thread is the rule); weak, so a
# closed loop is not kept alive. Read and replaced as one tuple: safe across threads.
_last: tuple[weakref.ref[asyncio.AbstractEventLoop], _Ticks] | None = None


def _ticks(loop: asyncio.AbstractEventLoop) -> _Ticks:
    global _last
    last = _last
    if last is not None and last[0]() is loop:
        return last[1]
    ticks = _by_loop.get(loop)
    if ticks is None:
        ticks = _by_loop[loop] = _Ticks(loop)
    _last = (weakref.ref(loop), ticks)
    return ticks


class Deadline:
    """One absolute point in (monotonic) time that a whole call must finish by.

    Also the call's cancel scope: see the module docstring. Enter a Deadline once;
    ``remaining()`` works entered or not.
    """

    __slots__ = ("_armed", "_cancelling", "_task", "at", "expired", "timeout")

    def __init__(self, timeout: float | None) -> None:
        self.timeout = timeout
        # An infinite timeout is no deadline (a tick cannot round infinity).
        self.at: float | None = None
        if timeout is not None and math.isfinite(timeout):
            self.at = time.monotonic() + timeout
        #: True once the time ran out inside ``with``.
        self.expired = False
        self._armed: set[Deadline] | None = None
        self._task: asyncio.Task[Any] | None = None
        self._cancelling = 0

    def remaining(self) -> float | None:
        """Seconds left (never negative), or None for no deadline."""
        if self.at is None:
            return None
        return max(0.0, self.at - time.monotonic())

    def __enter__(self) -> Deadline:
        if self.at is None:
            return self
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("a Deadline is entered inside an asyncio task")
        self._task = task
        self._cancelling = task.cancelling()
        self._armed = _ticks(task.get_loop()).add(self, max(0.0, self.at - time.monotonic()))
        return self

    def _expire(self) -> None:
        self.expired = True
        if self._task is not None:
            self._task.cancel()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        armed, self._armed = self._armed, None
        if armed is None:
            return
        if not self.expired:
            armed.discard(self)
            return
        assert self._task is not None
        # Our cancel is answered here; any other cancel request stays pending and wins.
        if self._task.uncancel() <= self._cancelling and exc_type is asyncio.CancelledError:
            raise TimeoutError from exc
