"""The node's WebSocket door on prepared frames (see :mod:`aitbc.node.ws_protocol`)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedError

from aitbc.node.realtime.ws import WSConnection
from aitbc.node.serving import UVICORN_OPTIONS
from aitbc.node.ws_protocol import PreparedFrameProtocol

from .conftest import Principal, emit, realtime_of


def test_the_node_serves_prepared_frames_without_deflate() -> None:
    assert UVICORN_OPTIONS["ws"] is PreparedFrameProtocol
    assert UVICORN_OPTIONS["ws_per_message_deflate"] is False


async def test_a_connection_lost_mid_fanout_does_not_stop_the_others(
    node: Any, alice: Principal
) -> None:
    """Three subscribers of one topic; the first write to one of them finds its peer gone
    (the transport aborted under it). That connection ends; the others get every event."""
    topic = f"jobs:{alice.id}"
    url = node.ws_url
    headers = {"X-API-Key": alice.key}
    rt = realtime_of(node)
    clients = [await connect(url, additional_headers=headers) for _ in range(3)]
    try:
        for ws in clients:
            await ws.send(json.dumps({"id": "s", "method": "subscribe", "path": topic}))
            assert json.loads(await ws.recv())["status"] == 200
        connections = [c for c in rt.connections if isinstance(c, WSConnection)]
        assert len(connections) == 3
        assert all(c.write_frame is not None for c in connections)  # the prepared path
        victim = connections[0]
        real_write = victim.write_frame
        assert real_write is not None
        protocol: Any = getattr(real_write, "__self__")  # noqa: B009 (typed as a callable)

        def write_to_a_vanished_peer(frame: bytes) -> bool:
            protocol.transport.abort()  # the peer is gone as the fan-out reaches it
            return real_write(frame)

        victim.write_frame = write_to_a_vanished_peer
        await emit(node, topic, 5)
        received: list[list[int]] = []
        lost = 0
        for ws in clients:
            seqs: list[int] = []
            try:
                while len(seqs) < 5:
                    message = json.loads(await asyncio.wait_for(ws.recv(), 30))
                    if "seq" in message:
                        seqs.append(message["seq"])
            except ConnectionClosedError:  # the victim's socket: reset by the node
                lost += 1
            else:
                received.append(seqs)
        assert lost == 1
        assert received == [[1, 2, 3, 4, 5]] * 2
        for _ in range(200):
            if victim not in rt.connections:
                break
            await asyncio.sleep(0.01)
        assert victim not in rt.connections
    finally:
        for ws in clients:
            await ws.close()
