"""Fixtures for SDK tests: a scripted stand-in node on a real socket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest

from .servers import Recorder, scripted_node_app, serve


@dataclass
class ScriptedNode:
    url: str
    rec: Recorder


@pytest.fixture
async def scripted() -> AsyncIterator[ScriptedNode]:
    """A stand-in node (see servers.scripted_node_app) on 127.0.0.1:<free port>."""
    rec = Recorder()
    async with serve(scripted_node_app(rec)) as url:
        yield ScriptedNode(url, rec)


async def eventually(predicate: Callable[[], bool], seconds: float = 10.0) -> None:
    """Wait until ``predicate()`` holds (checked every 10 ms); fail after ``seconds``."""
    for _ in range(int(seconds * 100)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"condition not met within {seconds}s")
