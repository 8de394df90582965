"""AITBCClient construction, the /v1/info check and multi-network resolution (MockTransport)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from aitbc import AITBCClient, HTTPTransport, MockRequest, MockTransport
from aitbc.errors import (
    ConfigurationError,
    NetworkMismatchError,
    NotFoundError,
    TransportClosedError,
)

from .fakes import info, info_only, job


def test_constructor_forms() -> None:
    t = MockTransport(info_only())
    assert AITBCClient(t).transport is t
    from_config = AITBCClient({"base_url": "http://127.0.0.1:1", "chain_id": 7})
    assert isinstance(from_config.transport, HTTPTransport)
    legacy = AITBCClient(api_key="key", base_url="http://127.0.0.1:1")
    assert isinstance(legacy.transport, HTTPTransport)
    assert legacy.transport.default_headers["X-API-Key"] == "key"


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((), {}),
        ((3,), {}),
        ((), {"api_key": "k"}),
        (({"base_url": "http://x"},), {"base_url": "http://y"}),
        (({"networks": {}},), {"multi_network": True}),
        (({"networks": {"a": {"base_url": "http://x"}}},), {"multi_network": True}),
        ((MockTransport(info_only()),), {"multi_network": True}),
        (({"type": "nope"},), {}),
    ],
)
def test_bad_constructor_calls_are_configuration_errors(args: Any, kwargs: Any) -> None:
    with pytest.raises(ConfigurationError):
        AITBCClient(*args, **kwargs)


async def test_connect_reads_info_once_even_when_calls_race() -> None:
    t = MockTransport(lambda r: info() if r.path == "/v1/info" else job())
    client = AITBCClient(t)
    await asyncio.gather(*(client.jobs.get("job_1") for _ in range(10)))
    assert [r.path for r in t.requests].count("/v1/info") == 1
    assert (await client.node_info()).chain_id == 7
    await client.disconnect()


async def test_refuses_a_node_on_another_chain_and_closes_it() -> None:
    t = MockTransport(info_only(chain_id=1), {"chain_id": 137})
    with pytest.raises(NetworkMismatchError, match="137"):
        async with AITBCClient(t):
            pass
    assert not t.is_connected


async def test_lazy_first_call_also_checks_the_chain() -> None:
    client = AITBCClient(MockTransport(info_only(chain_id=1), {"chain_id": 2}))
    with pytest.raises(NetworkMismatchError):
        await client.jobs.get("job_1")


async def test_closed_client_refuses_calls_until_reconnected() -> None:
    client = AITBCClient(MockTransport(lambda r: info() if r.path == "/v1/info" else job()))
    async with client:
        await client.jobs.get("job_1")
    with pytest.raises(TransportClosedError):
        await client.jobs.get("job_1")
    await client.connect()
    assert (await client.jobs.get("job_1")).id == "job_1"
    await client.disconnect()


def _chain_handler(chain_id: int) -> Any:
    def handler(request: MockRequest) -> dict[str, Any]:
        if request.path == "/v1/info":
            return info(chain_id)
        if request.path.startswith("/v1/jobs"):
            return job(f"job_on_{chain_id}")
        raise NotFoundError("x", status=404, code="not_found")

    return handler


async def test_multi_network_routes_by_chain_id(monkeypatch: pytest.MonkeyPatch) -> None:
    created: dict[int, MockTransport] = {}

    def fake_create(config: Any) -> MockTransport:
        created[config["chain_id"]] = MockTransport(_chain_handler(config["chain_id"]), config)
        return created[config["chain_id"]]

    monkeypatch.setattr("aitbc.client.create_transport", fake_create)
    config = {"networks": {"eth": {"chain_id": 1}, "poly": {"chain_id": 137, "default": True}}}
    async with AITBCClient(config, multi_network=True) as client:
        assert (await client.jobs.create({"job_type": "echo", "price": 1}, chain_id=1)).id == (
            "job_on_1"
        )
        assert (await client.jobs.get("job_x")).id == "job_on_137"  # the default network
        with pytest.raises(ConfigurationError, match="not configured"):
            await client.jobs.get("job_x", chain_id=5)
    assert not any(t.is_connected for t in created.values())


async def test_single_network_refuses_another_chain_id() -> None:
    async with AITBCClient(MockTransport(_chain_handler(7))) as client:
        assert (await client.jobs.get("job_1", chain_id=7)).id == "job_on_7"
        # The same error as a multi-network client's: one registry answers both.
        with pytest.raises(ConfigurationError, match=r"chain 8 is not configured.*\(chain 7\)"):
            await client.jobs.get("job_1", chain_id=8)
