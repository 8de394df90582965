"""Every call our adapters and contracts make on a bridge exists on the real contracts.

The fixtures hold canonical signatures of the real LayerZero EndpointV2, CCIP Router and
CCIP EVM2EVMOffRamp (written from the public interface definitions). The calls are
collected from the adapters' source (``<endpoint|router|ramp>.functions.<name>``) and from
the bridge interfaces our Solidity uses; each is resolved to a full signature through the
mock's ABI, so a call with the right name but another shape fails too.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest

from aitbc.contracts import load_artifact

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"
BRIDGES = ROOT / "src" / "aitbc" / "settlement" / "bridges"
# receiver attribute in the adapters -> (mock artifact, fixture)
TARGETS = {
    "endpoint": ("MockLayerZeroEndpoint", "layerzero_endpoint_v2.json"),
    "router": ("MockCCIPRouter", "ccip_router.json"),
    "ramp": ("MockCCIPOffRamp", "ccip_evm2evm_offramp.json"),
}
# Solidity interfaces our contracts call through -> the same targets
SOLIDITY = {
    ("LayerZeroTypes.sol", "ILayerZeroEndpointV2Like"): "endpoint",
    ("CCIPTypes.sol", "IRouterClientLike"): "router",
    ("CCIPTypes.sol", "IRouterLike"): "router",
}


def _type(param: dict[str, Any]) -> str:
    if param["type"].startswith("tuple"):
        inner = ",".join(_type(c) for c in param["components"])
        return f"({inner}){param['type'][5:]}"
    return str(param["type"])


def _signatures(artifact: str, name: str) -> set[str]:
    return {
        f"{item['name']}({','.join(_type(i) for i in item['inputs'])})"
        for item in load_artifact(artifact).abi
        if item.get("type") == "function" and item["name"] == name
    }


def _real(fixture: str) -> set[str]:
    return set(json.loads((FIXTURES / fixture).read_text())["functions"])


def _adapter_calls() -> set[tuple[str, str]]:
    calls: set[tuple[str, str]] = set()
    for path in BRIDGES.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            # <receiver>.functions.<name>
            if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)):
                continue
            if node.value.attr != "functions":
                continue
            owner = node.value.value
            receiver = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
            calls.add((receiver, node.attr))
    return calls


def _solidity_calls() -> set[tuple[str, str]]:
    calls = set()
    for (file, interface), target in SOLIDITY.items():
        text = (ROOT / "contracts" / file).read_text()
        body = re.search(rf"interface {interface} \{{(.*?)\n\}}", text, re.S)
        assert body is not None, f"{interface} not found in {file}"
        for name in re.findall(r"function (\w+)\(", body.group(1)):
            calls.add((target, name))
    return calls


def test_the_adapters_call_only_functions_of_the_real_bridge_contracts() -> None:
    calls = {c for c in _adapter_calls() if c[0] in TARGETS}
    # the adapters do call each of the three bridge contracts
    assert {receiver for receiver, _ in calls} == set(TARGETS)
    for receiver, name in sorted(calls):
        artifact, fixture = TARGETS[receiver]
        signatures = _signatures(artifact, name)
        assert signatures, f"{receiver}.{name} is not even on our mock"
        missing = signatures - _real(fixture)
        assert not missing, f"adapter calls {missing} on the {receiver}: not on the real contract"


def test_our_contracts_call_only_functions_of_the_real_bridge_contracts() -> None:
    for target, name in sorted(_solidity_calls()):
        artifact, fixture = TARGETS[target]
        signatures = _signatures(artifact, name)
        assert signatures, f"{name} of our {target} interface is not on the mock"
        assert signatures <= _real(fixture), f"{signatures} is not on the real {target}"


@pytest.mark.parametrize(
    "name", ["previewMessageId", "outboundSequenceNumber", "getExecutionState(bytes32)"]
)
def test_the_predicted_id_helpers_of_the_old_router_are_gone(name: str) -> None:
    # what the issue found the adapters calling on a Router that does not have them
    real = _real("ccip_router.json")
    assert not any(sig.startswith(name.split("(")[0] + "(") for sig in real)
    called = {n for r, n in _adapter_calls() if r == "router"}
    assert name.split("(")[0] not in called
