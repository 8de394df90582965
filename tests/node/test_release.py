"""A stopped node lets go of everything it held.

Tests, demos and benchmarks start many nodes in one process; a stopped node that stays
reachable keeps its engines, pools and event loop alive with it (FastAPI caches facts
about every endpoint callable in process-wide LRU caches, so an endpoint closing over
node state is one such path). Here a node serves every door once, stops, and must be
garbage.
"""

from __future__ import annotations

import gc
import weakref

import httpx
import websockets

from aitbc.node.embedded import run_node


async def test_a_stopped_node_is_garbage() -> None:
    async with run_node(chain_id=1) as running:
        principal, key = await running.create_principal("client", "alice")
        await running.faucet(principal, 10)
        headers = {"X-API-Key": key}
        async with httpx.AsyncClient(base_url=running.url, headers=headers) as http:
            assert (await http.get("/v1/wallet/balance")).status_code == 200
            async with http.stream("GET", f"/v1/events?topics=jobs:{principal}") as sse:
                assert sse.status_code == 200
        async with websockets.connect(running.ws_url, additional_headers=headers) as ws:
            await ws.send('{"id": "1", "method": "ping"}')
            await ws.recv()
        node, app = weakref.ref(running.node), weakref.ref(running.app)
        del running
    gc.collect()
    assert node() is None, gc.get_referrers(node())
    assert app() is None
