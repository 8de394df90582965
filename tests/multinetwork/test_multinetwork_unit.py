"""MultiNetworkClient and NetworkConfig rules, client-side only (MockTransport nodes)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from aitbc import AITBCClient, MockRequest, MockTransport
from aitbc.api.routing import settlement_route, settling_chain
from aitbc.client import MultiNetworkClient as FromClient
from aitbc.client import NetworkConfig as ConfigFromClient
from aitbc.errors import (
    ConfigurationError,
    MultiNetworkConnectError,
    NotFoundError,
    NotReadyError,
)
from aitbc.multinetwork import (
    MultiNetworkClient,
    NetworkConfig,
    networks_from_config,
)
from aitbc.transports.failover import FailoverTransport
from aitbc.transports.http import HTTPTransport


def node(chain_id: int, barrier: asyncio.Barrier | None = None) -> MockTransport:
    async def handler(request: MockRequest) -> dict[str, Any]:
        if barrier is not None:
            await barrier.wait()  # only returns once every network is asking at once
        return {"chain_id": chain_id, "version": "t", "coordinator_id": f"c{chain_id}"}

    return MockTransport(handler, {"chain_id": chain_id})


class BadClose(MockTransport):
    async def disconnect(self) -> None:
        await super().disconnect()
        raise RuntimeError("close failed")


def test_importable_from_client_and_top_level() -> None:
    import aitbc

    assert FromClient is MultiNetworkClient is aitbc.MultiNetworkClient
    assert ConfigFromClient is NetworkConfig is aitbc.NetworkConfig


def test_default_is_the_marked_one_else_the_first() -> None:
    multi = MultiNetworkClient()
    multi.add_network(NetworkConfig("a", 1, node(1)))
    multi.add_network(NetworkConfig("b", 2, node(2)))
    assert multi.default_network == 1
    multi.add_network(NetworkConfig("c", 3, node(3), is_default=True))
    assert multi.default_network == 3 and multi.network().name == "c"
    with pytest.raises(ConfigurationError, match=r"two default networks: c \(chain 3\)"):
        multi.add_network(NetworkConfig("d", 4, node(4), is_default=True))
    with pytest.raises(ConfigurationError, match="configured twice"):
        multi.add_network(NetworkConfig("e", 1, node(1)))


def test_unknown_chain_names_the_configured_networks() -> None:
    multi = MultiNetworkClient()
    with pytest.raises(ConfigurationError, match="no default network; configured networks: none"):
        multi.get_transport()
    multi.add_network(NetworkConfig("eth", 1, node(1)))
    multi.add_network(NetworkConfig("poly", 137, node(137)))
    with pytest.raises(ConfigurationError, match=r"chain 5 .*eth \(chain 1\), poly \(chain 137\)"):
        multi.get_transport(5)


def test_bridges_list_or_dict_of_configs() -> None:
    assert NetworkConfig("a", 1, node(1)).bridges == []
    assert NetworkConfig("a", 1, node(1), bridges=None).bridges == []  # type: ignore[arg-type]
    assert NetworkConfig("a", 1, node(1), bridges=["layerzero"]).bridges == ["layerzero"]
    as_dict: Any = {"layerzero": {"enabled": True}, "ccip": {"enabled": False}, "x": {}}
    assert NetworkConfig("a", 1, node(1), bridges=as_dict).bridges == ["layerzero", "x"]
    with pytest.raises(ConfigurationError):
        NetworkConfig("a", 1, node(1), bridges="layerzero")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        NetworkConfig("a", True, node(1))
    with pytest.raises(ConfigurationError):
        NetworkConfig("a", 1, "http://x")  # type: ignore[arg-type]


def test_config_builds_each_transport_through_the_registry() -> None:
    multi = networks_from_config(
        {
            "networks": {
                "one": {"chain_id": 1, "base_url": "http://127.0.0.1:1"},
                "two": {
                    "type": "http",
                    "chain_id": 2,
                    "endpoints": ["http://127.0.0.1:2", "http://127.0.0.1:3"],
                    "default": True,
                },
            }
        }
    )
    assert isinstance(multi.get_transport(1), HTTPTransport)
    two = multi.get_transport()
    assert isinstance(two, FailoverTransport) and len(two.endpoints) == 2
    assert "default" not in two.config and two.chain_id == 2


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"networks": []},
        {"networks": {"a": {"chain_id": "1", "base_url": "http://x"}}},
        {"networks": {"a": {"chain_id": 1, "type": "nope"}}},
        {
            "networks": {
                "a": {"chain_id": 1, "base_url": "http://x", "default": True},
                "b": {"chain_id": 2, "base_url": "http://y", "default": True},
            }
        },
    ],
)
def test_bad_configs(config: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        networks_from_config(config)


async def test_connect_all_is_concurrent() -> None:
    barrier = asyncio.Barrier(3)
    multi = MultiNetworkClient()
    for chain in (1, 2, 3):
        multi.add_network(NetworkConfig(f"n{chain}", chain, node(chain, barrier)))
    async with asyncio.timeout(10):  # sequential connects would never pass the barrier
        infos = await multi.connect_all()
    assert sorted(infos) == [1, 2, 3]
    await multi.disconnect_all()


async def test_disconnect_all_closes_the_rest_and_reports_failures(
    caplog: pytest.LogCaptureFixture,
) -> None:
    multi = MultiNetworkClient()
    bad = BadClose(lambda r: {"chain_id": 1, "version": "t", "coordinator_id": "c"})
    good = [node(2), node(3)]
    multi.add_network(NetworkConfig("bad", 1, bad))
    for t in good:
        multi.add_network(NetworkConfig(f"n{t.chain_id}", t.chain_id or 0, t))
    await multi.connect_all()
    with caplog.at_level(logging.WARNING, logger="aitbc.multinetwork"):
        failed = await multi.disconnect_all()
    assert list(failed) == ["bad"] and "close failed" in str(failed["bad"])
    assert "bad (chain 1)" in caplog.text
    assert not any(t.is_connected for t in [bad, *good])


async def test_client_connect_failure_leaves_nothing_open(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    transports = {1: node(1), 2: node(99)}  # the second answers for chain 99
    monkeypatch.setattr("aitbc.client.create_transport", lambda c: transports[c["chain_id"]])
    config = {"networks": {"a": {"chain_id": 1}, "b": {"chain_id": 2}}}
    client = AITBCClient(config, multi_network=True)
    with pytest.raises(MultiNetworkConnectError, match=r"b \(chain 2\).*serves chain 99"):
        await client.connect()
    assert not any(t.is_connected for t in transports.values())


def test_every_api_method_takes_chain_id() -> None:
    import inspect

    from aitbc.api import JobsAPI, MarketplaceAPI, ReceiptsAPI, WalletAPI
    from aitbc.api.settlement import SettlementAPI

    apis = (JobsAPI, MarketplaceAPI, ReceiptsAPI, WalletAPI, SettlementAPI)
    missing = [
        f"{api.__name__}.{name}"
        for api in apis
        for name, method in inspect.getmembers(api, inspect.isfunction)
        if not name.startswith("_") and "chain_id" not in inspect.signature(method).parameters
    ]
    assert missing == []
    assert len([n for a in apis for n in vars(a) if not n.startswith("_")]) >= 20


async def test_cancelled_connect_all_leaves_nothing_open() -> None:
    never = asyncio.Event()
    entered = asyncio.Event()

    async def hang(request: MockRequest) -> dict[str, Any]:
        entered.set()
        await never.wait()
        return {}

    multi = MultiNetworkClient()
    fast, slow = node(1), MockTransport(hang, {"chain_id": 2})
    multi.add_network(NetworkConfig("fast", 1, fast))
    multi.add_network(NetworkConfig("slow", 2, slow))
    task = asyncio.ensure_future(multi.connect_all())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not fast.is_connected and not slow.is_connected


class Settling(MockTransport):
    """Looks like a CrossChainTransport to the router (it runs bridges)."""

    async def settle_cross_chain(self, *args: Any) -> None:
        raise AssertionError("not called by the router")


def job_node(chain_id: int, jobs: set[str], cls: type[MockTransport] = MockTransport) -> Any:
    def handler(request: MockRequest) -> dict[str, Any]:
        if request.path == "/v1/info":
            return {"chain_id": chain_id, "version": "t", "coordinator_id": f"c{chain_id}"}
        job_id = request.path.split("/")[3]
        if job_id not in jobs:
            raise NotFoundError("no such job", status=404, code="job_not_found")
        raise NotReadyError("running", status=425, code="job_not_ready")

    return cls(handler, {"chain_id": chain_id})


async def test_settlement_route_finds_the_job_and_the_settling_network(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    transports = {
        1: job_node(1, {"job_a"}),
        137: job_node(137, {"job_b", "job_twice"}),
        42161: job_node(42161, {"job_c", "job_twice"}, Settling),
    }
    monkeypatch.setattr("aitbc.client.create_transport", lambda c: transports[c["chain_id"]])
    config = {"networks": {str(c): {"chain_id": c} for c in transports}}
    async with AITBCClient(config, multi_network=True) as client:
        assert await settlement_route(client, "job_b", None) == (137, 42161)
        assert await settlement_route(client, "job_c", None) == (42161, 42161)
        assert await settlement_route(client, "job_a", 1) == (1, 1)  # explicit: as given
        assert settling_chain(client, None) == 42161 and settling_chain(client, 1) == 1
        with pytest.raises(NotFoundError, match="none of the configured networks"):
            await settlement_route(client, "job_x", None)
        with pytest.raises(ConfigurationError, match=r"chains \[137, 42161\]"):
            await settlement_route(client, "job_twice", None)


async def test_a_job_found_by_asking_is_asked_for_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Job ids name no chain (``job_`` + random hex), so a job this client did not create
    is looked up on every network, once: the answer is remembered like a created job's."""
    transports = {1: job_node(1, set()), 137: job_node(137, {"job_b"}, Settling)}
    monkeypatch.setattr("aitbc.client.create_transport", lambda c: transports[c["chain_id"]])
    config = {"networks": {str(c): {"chain_id": c} for c in transports}}
    async with AITBCClient(config, multi_network=True) as client:
        for _ in range(3):
            assert await settlement_route(client, "job_b", None) == (137, 137)
        assert client.job_chain("job_b") == 137
    asked = {c: [r.path for r in t.requests if r.path != "/v1/info"] for c, t in transports.items()}
    assert asked == {1: ["/v1/jobs/job_b/result"], 137: ["/v1/jobs/job_b/result"]}


def test_settling_network_must_be_unambiguous() -> None:
    multi = MultiNetworkClient()
    multi.add_network(NetworkConfig("plain", 1, node(1)))
    with pytest.raises(ConfigurationError, match="crosschain networks: none"):
        multi.settling_network()
    multi.add_network(NetworkConfig("a", 2, job_node(2, set(), Settling)))
    assert multi.settling_network().name == "a"
    multi.add_network(NetworkConfig("b", 3, job_node(3, set(), Settling)))
    with pytest.raises(ConfigurationError, match=r"a \(chain 2\), b \(chain 3\)"):
        multi.settling_network()


async def test_a_job_created_here_is_settled_from_its_network_without_asking_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def creating_node(chain_id: int, cls: type[MockTransport] = MockTransport) -> Any:
        def handler(request: MockRequest) -> dict[str, Any]:
            if request.path == "/v1/info":
                return {"chain_id": chain_id, "version": "t", "coordinator_id": f"c{chain_id}"}
            if request.method == "POST" and request.path == "/v1/jobs":
                return {
                    "id": f"job_on_{chain_id}",
                    "client_id": "c",
                    "job_type": "echo",
                    "price": "1",
                    "state": "QUEUED",
                    "created_at": "2026-01-01T00:00:00Z",
                }
            raise AssertionError(f"chain {chain_id} asked {request.method} {request.path}")

        return cls(handler, {"chain_id": chain_id})

    transports = {
        1: creating_node(1),
        137: creating_node(137),
        42161: creating_node(42161, Settling),
    }
    monkeypatch.setattr("aitbc.client.create_transport", lambda c: transports[c["chain_id"]])
    config = {"networks": {str(c): {"chain_id": c} for c in transports}}
    async with AITBCClient(config, multi_network=True) as client:
        job = await client.jobs.create({"job_type": "echo", "price": 1}, chain_id=137)
        assert client.job_chain(job.id) == 137
        assert await settlement_route(client, job.id, None) == (137, 42161)
    asked = {c: [r.path for r in t.requests if r.path != "/v1/info"] for c, t in transports.items()}
    assert asked == {1: [], 137: ["/v1/jobs"], 42161: []}  # no GET .../result fan-out
