"""``client.jobs.events`` and an event-driven ``wait_for_completion`` on a real node."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from aitbc import AITBCClient
from aitbc.errors import WaitTimeoutError
from aitbc.transports.http import HTTPTransport
from aitbc.transports.websocket import WebSocketTransport

from .conftest import Principal


def _transports(node: Any, key: str) -> dict[str, Any]:
    return {
        "websocket": WebSocketTransport({"ws_url": node.ws_url, "api_key": key}),
        "sse": HTTPTransport({"base_url": node.url, "default_headers": {"X-API-Key": key}}),
    }


@pytest.mark.parametrize("kind", ["websocket", "sse"])
async def test_wait_for_completion_wakes_on_the_event(
    node: Any, alice: Principal, kind: str
) -> None:
    client = AITBCClient(_transports(node, alice.key)[kind])
    await client.connect()
    try:
        job = await client.jobs.create({"job_type": "echo", "payload": {}, "price": 2})
        # Polling this slowly could not see the cancel within the deadline; events can.
        waiter = asyncio.ensure_future(
            client.jobs.wait_for_completion(
                job.id, timeout=15, poll_interval=30, max_poll_interval=30
            )
        )
        await asyncio.sleep(0.3)
        assert not waiter.done()
        await client.jobs.cancel(job.id)
        final = await waiter
        assert final.id == job.id and final.state == "CANCELED"
        events = []
        async for event in client.jobs.events(job.id):
            events.append(event["event"])
            if len(events) == 2:
                break
        assert events == ["job.created", "job.canceled"]
    finally:
        await client.disconnect()


async def test_wait_without_streaming_still_polls(node: Any, alice: Principal) -> None:
    """A transport that cannot stream (MockTransport without a stream handler) polls."""
    from aitbc.transports.mock import MockTransport

    real = HTTPTransport({"base_url": node.url, "default_headers": {"X-API-Key": alice.key}})

    async def forward(request: Any) -> Any:
        return await real.request(request.method, request.path, request.data, request.params)

    client = AITBCClient(MockTransport(forward))
    try:
        job = await client.jobs.create({"job_type": "echo", "payload": {}, "price": 2})
        with pytest.raises(WaitTimeoutError):
            await client.jobs.wait_for_completion(job.id, timeout=0.5, poll_interval=0.1)
    finally:
        await client.disconnect()
        await real.disconnect()
