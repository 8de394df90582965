"""Deadline as a cancel scope: asyncio.timeout's contract on shared, rounded-up timers.

The rounding is checked on a fake loop clock; the real-loop tests use deadlines that
are already due, so nothing waits on the wall clock.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from aitbc.transports.deadline import Deadline, _Ticks, _ticks


class FakeLoop:
    """Just the clock and call_at that _Ticks uses; timers are recorded, not run."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.timers: list[tuple[float, Any, tuple[Any, ...]]] = []

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Any, *args: Any) -> None:
        self.timers.append((when, callback, args))


@pytest.mark.parametrize("left", [0.0, 0.0004, 0.05, 0.3, 1.0, 2.5, 30.0, 300.0])
@pytest.mark.parametrize("now", [0.0, 1234.5678, 98765.4321])
def test_a_deadline_fires_never_early_and_at_most_a_sixteenth_or_a_second_late(
    now: float, left: float
) -> None:
    loop = FakeLoop(now)
    _Ticks(loop).add(Deadline(left), left)  # type: ignore[arg-type]
    [(when, _, _)] = loop.timers
    assert when >= now + left
    assert when - (now + left) <= max(left / 16, 2**-10)
    assert when - (now + left) <= 1.0


def test_deadlines_in_one_tick_share_one_timer_which_expires_them_all() -> None:
    loop = FakeLoop(100.0)
    ticks = _Ticks(loop)  # type: ignore[arg-type]
    deadlines = [Deadline(30.0) for _ in range(50)]
    for d in deadlines:
        ticks.add(d, 30.0)
    assert len(loop.timers) == 1
    _when, expire, args = loop.timers[0]
    expire(*args)
    assert all(d.expired for d in deadlines)
    assert ticks.due == {}


async def test_expiry_leaves_the_block_as_timeout_error_and_the_task_uncancelled() -> None:
    never = asyncio.Event()
    deadline = Deadline(0.0)
    with pytest.raises(TimeoutError), deadline:
        await never.wait()
    assert deadline.expired
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0
    await asyncio.sleep(0)  # no cancel left pending for the next await


async def test_a_call_done_in_time_leaves_no_armed_deadline_behind() -> None:
    deadline = Deadline(60.0)
    with deadline:
        await asyncio.sleep(0)
    assert not deadline.expired
    assert deadline._armed is None
    assert all(deadline not in armed for armed in _ticks_of_this_loop().due.values())


async def test_a_cancel_from_outside_passes_through_as_cancelled_error() -> None:
    started = asyncio.Event()

    async def call() -> None:
        with Deadline(60.0):
            started.set()
            await asyncio.Event().wait()

    task = asyncio.ensure_future(call())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_an_outside_cancel_wins_over_an_expiry_at_the_same_time() -> None:
    started = asyncio.Event()

    async def call() -> None:
        with Deadline(0.0):
            started.set()
            await asyncio.Event().wait()

    task = asyncio.ensure_future(call())
    await started.wait()
    task.cancel()  # before the due tick runs: both cancels are pending
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.parametrize("seconds", [None, float("inf")])
async def test_no_timeout_arms_nothing(seconds: float | None) -> None:
    deadline = Deadline(seconds)
    with deadline:
        await asyncio.sleep(0)
    assert deadline.remaining() is None and not deadline.expired
    assert deadline._armed is None


def test_no_timeout_works_outside_a_task() -> None:
    with Deadline(None) as deadline:
        assert deadline.remaining() is None


def _ticks_of_this_loop() -> _Ticks:
    return _ticks(asyncio.get_running_loop())
