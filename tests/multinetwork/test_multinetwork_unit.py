"""MultiNetworkClient and NetworkConfig rules, client-side only (MockTransport nodes)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from aitbc import AITBCClient, MockRequest, MockTransport
from aitbc.client import MultiNetworkClient as FromClient
from aitbc.client import NetworkConfig as ConfigFromClient
from aitbc.errors import ConfigurationError, MultiNetworkConnectError
from aitbc.multinetwork import MultiNetworkClient, NetworkConfig, networks_from_config
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
