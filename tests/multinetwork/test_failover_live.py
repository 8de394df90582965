"""Failover between real endpoints: two nodes of one network on one PostgreSQL database,
the first behind a relay that is stopped mid-run and started again; and the transport
conformance suite on FailoverTransport."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import yarl

from aitbc import AITBCClient
from aitbc.transports import conformance
from aitbc.transports.failover import FailoverTransport
from sdk.nodekit import ECHO_JOB, parties

from .relay import Relay, free_port


async def test_calls_fail_over_mid_run_and_the_first_endpoint_comes_back(
    pg_node: Any, migrated_postgres_url: str, node_factory: Callable[..., Awaitable[Any]]
) -> None:
    second = await node_factory(chain_id=1, database_url=migrated_postgres_url)  # pg_node's DB
    env = await parties(pg_node)
    relay = Relay(int(yarl.URL(pg_node.url).port or 0))
    await relay.start()
    network = {
        "type": "http",
        "chain_id": 1,
        "endpoints": [relay.url, second.url],
        "default_headers": {"X-API-Key": env.client_key},
        "max_retries": 0,
        "failover_backoff_base": 0.2,
        "failover_backoff_cap": 1.0,
    }
    try:
        async with AITBCClient({"networks": {"main": network}}, multi_network=True) as client:
            assert client.multi_network_client is not None
            transport = client.multi_network_client.get_transport(1)
            assert isinstance(transport, FailoverTransport)
            first = await client.jobs.create(ECHO_JOB)
            assert relay.connections >= 1  # served through the first endpoint

            await relay.stop()  # the first endpoint dies: open sockets break, connects fail
            assert (await client.jobs.get(first.id)).id == first.id
            later = await client.jobs.create(ECHO_JOB)  # an idempotency-keyed POST
            balance = await client.wallet.balance()
            assert (balance.balance, balance.escrowed) == (9_800, 200)  # charged once each
            assert transport.pool.states[0].failures >= 1  # put aside, with growing back-off

            await relay.start()  # back on the same port; used again once its back-off ends
            await asyncio.sleep(max(0.0, transport.pool.states[0].down_until - time.monotonic()))
            assert relay.url in transport.pool.healthy()
            before = relay.connections
            assert (await client.jobs.get(later.id)).id == later.id
            assert relay.connections > before
            assert transport.pool.states[0].failures == 0
    finally:
        await relay.stop()


@pytest.mark.parametrize("kind", ["http", "websocket"])
@pytest.mark.parametrize("check", conformance.CHECKS, ids=lambda c: c.__name__)
async def test_failover_transport_conformance(
    check: conformance.Check, kind: str, node: Any
) -> None:
    _, key = await node.create_principal("client", "conformance")
    port = free_port()
    endpoints = {
        "http": [f"http://127.0.0.1:{port}", node.url],
        "websocket": [f"ws://127.0.0.1:{port}/v1/ws", node.ws_url],
    }[kind]
    config = {
        "endpoint_type": kind,
        "endpoints": endpoints,
        "chain_id": 1,
        "max_retries": 0,
        "default_headers": {"X-API-Key": key},  # http
        "api_key": key,  # websocket
        "max_reconnect_attempts": 0,
    }

    def factory() -> FailoverTransport:
        # Each new transport starts with the dead endpoint first, so its requests fail over.
        return FailoverTransport(config)

    await conformance.run_check(check, factory)


async def test_single_network_client_with_several_endpoints(node: Any) -> None:
    env = await parties(node)
    dead = f"http://127.0.0.1:{free_port()}"
    config = {
        "base_urls": [dead, node.url],
        "chain_id": 1,
        "default_headers": {"X-API-Key": env.client_key},
        "max_retries": 0,
        "failover_backoff_base": 60.0,  # the dead endpoint stays aside for this test
    }
    async with AITBCClient(config) as client:
        assert isinstance(client.transport, FailoverTransport)
        assert (await client.wallet.balance()).balance == 10_000
        assert [s.failures for s in client.transport.pool.states] == [1, 0]
