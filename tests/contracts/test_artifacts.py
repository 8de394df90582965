"""The committed contract artifacts match the Solidity sources they were built from."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import pytest

from aitbc.contracts import artifact_names, load_artifact
from aitbc.errors import ConfigurationError

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = {
    "AitbcSettlementDestination",
    "AitbcSettlementSource",
    "MockCCIPOffRamp",
    "MockCCIPRouter",
    "MockLayerZeroEndpoint",
    "TestRecipient",
}


def _build_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "build_contracts", ROOT / "scripts/build_contracts.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_deployable_contract_has_an_artifact() -> None:
    assert set(artifact_names()) == EXPECTED


def test_recorded_source_hashes_match_current_sources() -> None:
    current = _build_script().source_hashes()
    for name in artifact_names():
        assert load_artifact(name).source_sha256 == current, f"{name} is stale: rebuild"


def test_artifacts_pin_compiler_and_have_code() -> None:
    for name in artifact_names():
        artifact = load_artifact(name)
        assert artifact.compiler_version.startswith("0.8.")
        assert artifact.bytecode.startswith("0x") and len(artifact.bytecode) > 100
        assert any(item.get("type") == "constructor" for item in artifact.abi)


def test_unknown_artifact_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="NoSuchContract"):
        load_artifact("NoSuchContract")


@pytest.mark.skipif(
    shutil.which("node") is None or not (ROOT / "node_modules/solc").is_dir(),
    reason="recompiling needs node and node_modules/solc (run `npm ci`)",
)
def test_full_recompile_gives_identical_artifacts() -> None:
    script = _build_script()
    for name, artifact in script.build_artifacts().items():
        committed = (script.ARTIFACTS_DIR / f"{name}.json").read_text()
        assert script.render(artifact) == committed, f"{name} differs from a fresh compile"
