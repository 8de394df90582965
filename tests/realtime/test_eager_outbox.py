"""Units of the lean connection plumbing: eager sends and the outbox."""

from __future__ import annotations

import asyncio

import pytest

from aitbc.node.realtime import eager
from aitbc.node.realtime.outbox import Outbox


async def test_an_awaitable_that_never_waits_finishes_in_the_caller() -> None:
    done: list[int] = []

    async def send() -> None:
        done.append(1)

    assert eager.start(send()) is None
    assert done == [1]


async def test_an_error_before_any_wait_is_raised_to_the_caller() -> None:
    async def send() -> None:
        raise OSError("peer gone")

    with pytest.raises(OSError, match="peer gone"):
        eager.start(send())


async def test_a_send_that_waits_is_finished_by_the_returned_coroutine() -> None:
    writable = asyncio.Event()
    steps: list[str] = []

    async def send() -> None:
        steps.append("start")
        await writable.wait()
        await asyncio.sleep(0)  # a bare yield on the way
        steps.append("written")

    rest = eager.start(send())
    assert rest is not None and steps == ["start"]
    task = asyncio.create_task(rest)
    await asyncio.sleep(0)
    assert not task.done()
    writable.set()
    await task
    assert steps == ["start", "written"]


async def test_an_error_after_the_wait_reaches_whoever_awaits_the_rest() -> None:
    gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def send() -> None:
        await gate

    rest = eager.start(send())
    assert rest is not None
    gate.set_exception(ConnectionResetError("reset"))
    with pytest.raises(ConnectionResetError):
        await rest


async def test_cancelling_the_rest_unwinds_the_send() -> None:
    writable = asyncio.Event()
    unwound: list[bool] = []

    async def send() -> None:
        try:
            await writable.wait()
        finally:
            unwound.append(True)

    rest = eager.start(send())
    assert rest is not None
    task = asyncio.create_task(rest)
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert unwound == [True]
    assert not writable._waiters  # the send's waiter is gone with it


async def test_outbox_is_bounded_fifo_and_take_drains_everything() -> None:
    box: Outbox[int] = Outbox(3)
    assert [box.offer(i) for i in range(4)] == [True, True, True, False]
    assert len(box) == 3
    assert box.take() == [0, 1, 2]
    assert box.take() == []


async def test_outbox_put_waits_for_room_within_its_grace() -> None:
    box: Outbox[str] = Outbox(1)
    box.offer("a")
    waiting = asyncio.create_task(box.put("b", grace=30))
    await asyncio.sleep(0)
    assert not waiting.done()
    assert box.take() == ["a"]  # room: the waiting put goes in
    assert await waiting is True
    assert box.take() == ["b"]


async def test_outbox_put_gives_up_after_its_grace() -> None:
    box: Outbox[str] = Outbox(1)
    box.offer("a")
    assert await box.put("b", grace=0) is False
    assert box.take() == ["a"]
