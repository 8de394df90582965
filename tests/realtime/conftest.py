"""Fixtures for the realtime tests: principals on a real node and transports to it."""

from __future__ import annotations

import base64
import dataclasses
import os
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from aitbc.node.realtime import Realtime
from aitbc.transports.websocket import WebSocketTransport


@dataclasses.dataclass
class Principal:
    id: str
    key: str


@pytest.fixture
async def alice(node: Any) -> Principal:
    """A funded client on the ``node`` fixture."""
    pid, key = await node.create_principal("client", "alice")
    await node.faucet(pid, 10_000_000)
    return Principal(pid, key)


@pytest.fixture
async def ws_factory(node: Any) -> AsyncIterator[Callable[..., WebSocketTransport]]:
    """``ws_factory(key, **config)``: WebSocketTransports to ``node``, closed at teardown."""
    made: list[WebSocketTransport] = []

    def make(key: str, **config: Any) -> WebSocketTransport:
        transport = WebSocketTransport(
            {"ws_url": node.ws_url, "headers": {"X-API-Key": key}, **config}
        )
        made.append(transport)
        return transport

    yield make
    for transport in made:
        await transport.disconnect()


def realtime_of(node: Any) -> Realtime:
    """The node's realtime service (to tune limits or drop connections in a test)."""
    rt: Realtime = node.app.state.realtime
    return rt


def tune(node: Any, **changes: Any) -> None:
    """Change the node's realtime settings for connections opened from now on."""
    rt = realtime_of(node)
    rt.settings = dataclasses.replace(rt.settings, **changes)


async def emit(
    node: Any, topic: str, count: int, *, event: str = "test.tick", per_tx: int = 1, size: int = 0
) -> None:
    """Append ``count`` events to ``topic`` through the node's real transaction path
    (``data={"n": k}`` for the k-th, 1-based, padded by ``size`` bytes of incompressible
    text, so permessage-deflate cannot shrink it)."""
    done = 0
    while done < count:
        async with node.node.transaction() as tx:
            for _ in range(min(per_tx, count - done)):
                done += 1
                tx.emit(topic, event, {"n": done, "pad": _noise(size)})


def _noise(size: int) -> str:
    return base64.b64encode(os.urandom(size * 3 // 4)).decode() if size else ""
