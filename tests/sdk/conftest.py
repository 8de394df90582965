"""Fixtures for SDK tests: a scripted stand-in node on a real socket."""

from __future__ import annotations

from collections.abc import AsyncIterator
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
