"""One client mode: a single-network client is a multi-network client with one network.

Both route, connect and close through the same MultiNetworkClient methods; a single
network may leave its chain id to the node; no client code branches on the mode.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

import aitbc.api.routing
import aitbc.client
from aitbc import AITBCClient, MockRequest, MockTransport, MultiNetworkClient, NetworkConfig
from aitbc.errors import ConfigurationError, NetworkMismatchError, NotFoundError

from .fakes import info, job


def _node(chain_id: int) -> MockTransport:
    def handler(request: MockRequest) -> dict[str, Any]:
        if request.path == "/v1/info":
            return info(chain_id)
        if request.path.startswith("/v1/jobs"):
            return job(f"job_on_{chain_id}")
        raise NotFoundError("x", status=404, code="not_found")

    return MockTransport(handler)


def _multi_client(monkeypatch: pytest.MonkeyPatch) -> AITBCClient:
    def create(config: Any) -> MockTransport:
        made = _node(config["chain_id"])
        made.config.update(config)
        return made

    monkeypatch.setattr("aitbc.client.create_transport", create)
    config = {"networks": {"eth": {"chain_id": 1}, "poly": {"chain_id": 137, "default": True}}}
    return AITBCClient(config, multi_network=True)


async def test_both_modes_route_connect_and_close_through_the_registry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[tuple[str, int | None]] = []
    for name in ("ready", "connect_all", "disconnect_all"):
        original = getattr(MultiNetworkClient, name)

        def spy(self: MultiNetworkClient, *args: Any, _o: Any = original, _n: str = name) -> Any:
            seen.append((_n, len(self.all_networks)))
            return _o(self, *args)

        monkeypatch.setattr(MultiNetworkClient, name, spy)

    single = AITBCClient(_node(7))
    multi = _multi_client(monkeypatch)
    for client, count, job_id in ((single, 1, "job_on_7"), (multi, 2, "job_on_137")):
        assert isinstance(client.networks, MultiNetworkClient)
        assert client.multi_network_client is client.networks  # the seed's name, kept
        assert client.transport is client.networks.get_transport()
        seen.clear()
        async with client:
            assert (await client.jobs.get("job_1")).id == job_id
        assert [step for step, _ in seen] == ["connect_all", "ready", "disconnect_all"]
        assert {n for _, n in seen} == {count}


async def test_job_calls_go_to_the_network_the_job_was_created_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with _multi_client(monkeypatch) as client:
        created = await client.jobs.create({"job_type": "echo", "price": 1}, chain_id=1)
        assert created.id == "job_on_1" and client.job_chain(created.id) == 1
        # No chain_id: the remembered network (1), not the default one (137).
        assert (await client.jobs.get(created.id)).id == "job_on_1"
        assert (await client.jobs.cancel(created.id)).id == "job_on_1"
        assert (await client.jobs.get("job_unknown_here")).id == "job_on_137"  # default
        assert (await client.jobs.get(created.id, chain_id=137)).id == "job_on_137"
        eth = client.networks.get_transport(1)
    assert isinstance(eth, MockTransport)
    assert [r.path for r in eth.requests if r.path != "/v1/info"] == [
        "/v1/jobs",
        "/v1/jobs/job_on_1",
        "/v1/jobs/job_on_1/cancel",
    ]


async def test_a_sole_network_learns_its_chain_then_holds_the_node_to_it() -> None:
    node = _node(7)
    client = AITBCClient(node)
    assert client.networks.network().label == "default (chain not yet known)"
    assert (await client.jobs.get("job_1")).id == "job_on_7"  # lazy first call connects
    assert client.networks.networks[7].transport is node
    assert client.networks.default_network == 7
    await client.disconnect()

    moved = _node(8)
    node.handler = moved.handler  # the node now serves chain 8
    with pytest.raises(NetworkMismatchError, match=r"serves chain 8.*configured for chain 7"):
        await client.connect()
    assert not node.is_connected


def test_only_a_sole_network_may_leave_its_chain_id_unset() -> None:
    registry = MultiNetworkClient()
    registry.add_network(NetworkConfig("a", 1, _node(1)))
    with pytest.raises(ConfigurationError, match="'b' has no chain_id"):
        registry.add_network(NetworkConfig("b", None, _node(2)))
    learning = MultiNetworkClient()
    learning.add_network(NetworkConfig("b", None, _node(2)))
    with pytest.raises(ConfigurationError, match="'b' has no chain_id"):
        learning.add_network(NetworkConfig("a", 1, _node(1)))
    assert learning.describe() == "b (chain not yet known)"


async def test_one_network_connect_raises_its_own_error_and_closes() -> None:
    node = _node(1)
    node.config["chain_id"] = 137
    with pytest.raises(NetworkMismatchError, match="configured for chain 137"):
        await AITBCClient(node).connect()
    assert not node.is_connected


def _source(module: Any) -> ast.Module:
    return ast.parse(Path(module.__file__).read_text(encoding="utf-8"))


def test_no_client_code_branches_on_the_mode() -> None:
    """Only the constructor and the registry builder read ``multi_network`` (to choose
    how the registry is filled); no routing, connect or close code branches on it."""
    readers: set[str] = set()
    branches: set[str] = set()
    for func in ast.walk(_source(aitbc.client)):
        if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(func):
            name = getattr(node, "attr", None) or getattr(node, "id", None)
            if isinstance(name, str) and name.startswith("multi"):
                readers.add(func.name)
            if isinstance(node, ast.If | ast.IfExp) and "multi" in ast.unparse(node.test):
                branches.add(func.name)
    assert readers == {"__init__", "_registry"}
    assert branches == {"_registry"}


def test_routing_reads_the_registry_through_the_typed_protocol() -> None:
    source = Path(aitbc.api.routing.__file__).read_text(encoding="utf-8")
    assert "getattr(resolver" not in source and "multi_network_client" not in source
