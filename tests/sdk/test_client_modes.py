"""One client mode: the same surface with one network or several, typed resources, and
no import loops between the API layer and the network registry, or registry and failover."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

import aitbc
from aitbc import AITBCClient, MockRequest, MockTransport
from aitbc.api.settlement import SettlementAPI

SRC = Path(aitbc.__file__).parent


def imported_modules(relative: str) -> set[str]:
    """Every aitbc module ``relative`` imports, anywhere in the file (absolute names)."""
    path = SRC / relative
    package = ("aitbc." + relative.removesuffix(".py").replace("/", ".")).rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                found.add(f"{base}.{node.module}" if node.module else base)
            elif node.module:
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m.startswith("aitbc")}


def test_the_network_registry_does_not_import_the_api_layer() -> None:
    assert not {m for m in imported_modules("multinetwork.py") if m.startswith("aitbc.api")}


def test_the_transport_registry_does_not_import_failover() -> None:
    assert "aitbc.transports.failover" not in imported_modules("transports/registry.py")
    assert "aitbc.transports.registry" in imported_modules("transports/failover.py")


def node(chain_id: int) -> MockTransport:
    def handler(request: MockRequest) -> dict[str, Any]:
        return {"chain_id": chain_id, "version": "t", "coordinator_id": f"c{chain_id}"}

    return MockTransport(handler, {"chain_id": chain_id})


@pytest.mark.parametrize("networks", [1, 2])
async def test_the_same_surface_with_one_network_or_several(
    networks: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    transports = {c: node(c) for c in (1, 137)[:networks]}
    if networks == 1:
        client = AITBCClient(transports[1])
    else:
        monkeypatch.setattr("aitbc.client.create_transport", lambda c: transports[c["chain_id"]])
        config = {"networks": {str(c): {"chain_id": c, "default": c == 137} for c in transports}}
        client = AITBCClient(config, multi_network=True)
    default = transports[1] if networks == 1 else transports[137]
    assert client.transport is default  # always defined: the default network's transport
    assert isinstance(client.settlement, SettlementAPI)  # typed, built with the client
    async with client:
        assert (await client.node_info()).chain_id == default.chain_id
        assert await client.transport_for() is default
        for chain in transports:
            assert (await client.node_info(chain)).chain_id == chain
