"""CrossChainTransport over a real HTTP base transport and a stand-in node."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from aitbc.core.signing import SigningKey
from aitbc.errors import (
    ConfigurationError,
    ConflictError,
    NotFoundError,
    SettlementValidationError,
    TransportClosedError,
)
from aitbc.settlement.codec import message_to_dict
from aitbc.transports import conformance
from aitbc.transports.crosschain import CrossChainTransport
from aitbc.transports.http import HTTPTransport
from aitbc.transports.registry import create_transport

from .memory_bridge import MemoryBridge, MemoryChains
from .standin_node import StandinNode, serve_standin


@pytest.fixture
async def node(coordinator_key: SigningKey) -> AsyncIterator[StandinNode]:
    async with serve_standin(StandinNode(coordinator_key)) as served:
        yield served


@pytest.fixture
def make_transport(
    node: StandinNode, tmp_path: Path, chains: MemoryChains
) -> Callable[..., CrossChainTransport]:
    def build(**overrides: Any) -> CrossChainTransport:
        config: dict[str, Any] = {
            "chain_id": 1,
            "base_transport": {"type": "http", "base_url": node.url, "chain_id": 1},
            "storage": str(tmp_path / "s.db"),
            "adapters": {"memory": MemoryBridge(chains)},
            "poll_interval": 0.01,
        }
        config.update(overrides)
        return CrossChainTransport(config)

    return build


@pytest.mark.parametrize("check", conformance.CHECKS, ids=lambda c: c.__name__)
async def test_conformance(check: conformance.Check, make_transport: Any) -> None:
    await conformance.run_check(check, make_transport)


def test_registry_builds_it(tmp_path: Path) -> None:
    transport = create_transport({"type": "crosschain", "storage": str(tmp_path / "x.db")})
    assert isinstance(transport, CrossChainTransport) and transport.base_transport is None


async def test_settlement_routes_end_to_end(
    make_transport: Any, make_message: Any, node: StandinNode, chains: MemoryChains
) -> None:
    async with make_transport() as transport:
        message = make_message()
        quote = await transport.request("POST", "/settlement/estimate", message_to_dict(message))
        assert quote["native_fee"] == str(1000 + message.gas_limit)
        body = {**message_to_dict(message), "bridge_name": "memory"}
        sent = await transport.request("POST", "/settlement/cross-chain", body)
        assert sent["status"] == "in_progress" and sent["transaction_hash"]
        assert node.info_hits == 1  # trusted keys read once from the node's /v1/info
        status = await transport.request("GET", f"/settlement/{sent['message_id']}")
        assert (
            status["message_id"] == sent["message_id"] and status["fee_paid"] == quote["native_fee"]
        )
        again = await transport.request("POST", "/settlement/cross-chain", body)
        assert again["message_id"] == sent["message_id"] and chains.sends == 1


async def test_retry_and_refund_routes(
    make_transport: Any, make_message: Any, chains: MemoryChains
) -> None:
    chains.min_gas = 300_000
    async with make_transport() as transport:
        sent = await transport.settle_cross_chain(make_message(), "memory")
        path = f"/settlement/{sent.message_id}"
        failed = await transport.request("GET", path)  # delivered (and failed) on 1st poll
        assert failed["status"] == "failed" and failed["error_message"] == "out of gas"
        retried = await transport.request("POST", path + "/retry", {"gas_limit": "400000"})
        assert retried["status"] == "completed"
        with pytest.raises(ConflictError):
            await transport.request("POST", path + "/refund")
        with pytest.raises(SettlementValidationError, match="gas_limit"):
            await transport.request("POST", path + "/retry", {"gas_limit": 1.5})


async def test_unknown_settlement_paths_and_ids(make_transport: Any) -> None:
    async with make_transport() as transport:
        with pytest.raises(NotFoundError) as info:
            await transport.request("GET", "/settlement/0xmissing")
        assert info.value.code == "settlement_not_found"
        for method, path in [
            ("DELETE", "/settlement/x"),
            ("POST", "/settlement/x/burn"),
            ("GET", "/settlement/"),
        ]:
            with pytest.raises(NotFoundError) as info:
                await transport.request(method, path)
            assert info.value.code == "not_found"
        with pytest.raises(SettlementValidationError, match="lacks"):
            await transport.request("POST", "/settlement/cross-chain", {"job_id": "j"})


async def test_without_base_transport(
    tmp_path: Path, chains: MemoryChains, make_message: Any, coordinator_key: SigningKey
) -> None:
    transport = CrossChainTransport(
        {
            "storage": str(tmp_path / "s.db"),
            "adapters": {"memory": MemoryBridge(chains)},
            "trusted_keys": [coordinator_key.verify_key.b64],
        }
    )
    async with transport:
        with pytest.raises(ConfigurationError, match="no base_transport"):
            await transport.request("GET", "/v1/info")
        with pytest.raises(ConfigurationError, match="no base_transport"):
            async for _ in transport.stream("GET", "/v1/events"):
                pass
        result = await transport.settle_cross_chain(make_message())
        assert result.bridge_name == "memory" and chains.sends == 1
        estimate = await transport.estimate_settlement_cost(make_message())
        assert estimate["bridge_name"] == "memory"
    with pytest.raises(TransportClosedError):
        await transport.settle_cross_chain(make_message())


async def test_base_transport_instance_is_used_and_closed(
    node: StandinNode, tmp_path: Path
) -> None:
    base = HTTPTransport({"base_url": node.url})
    transport = CrossChainTransport({"base_transport": base, "storage": str(tmp_path / "s.db")})
    async with transport:
        assert (await transport.request("GET", "/v1/info"))["chain_id"] == 1
        assert base.is_connected
    assert not base.is_connected
    assert transport.chain_id is None  # neither it nor its base names a chain
    inherited = CrossChainTransport(
        {"base_transport": {"type": "http", "base_url": node.url, "chain_id": 7}}
    )
    assert inherited.chain_id == 7


def test_bad_config_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        CrossChainTransport({"base_transport": 42})
    with pytest.raises(ConfigurationError):
        CrossChainTransport({"base_transport": {"type": "crosschain"}})
    with pytest.raises(ConfigurationError):
        CrossChainTransport({"adapters": {"x": object()}})
    with pytest.raises(ConfigurationError):
        CrossChainTransport({"bridges": ["layerzero"]})
