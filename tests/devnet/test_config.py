"""The devnet config file, adapters built from it, and the ``aitbc devnet`` option parsing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer

from aitbc.cli.devnet import _parse_chain_ids
from aitbc.devnet import BackgroundDevnet, Devnet, DevnetConfig
from aitbc.devnet.deploy import bridge_ids
from aitbc.errors import ConfigurationError, UnsupportedChainError
from aitbc.settlement.bridges.base import SettlementMessage
from aitbc.settlement.bridges.ccip import CCIPBridge
from aitbc.settlement.bridges.layerzero import LayerZeroBridge

pytestmark = pytest.mark.evm


def test_config_file_round_trips(devnet: BackgroundDevnet, tmp_path: Path) -> None:
    path = tmp_path / "nested" / "devnet.json"
    devnet.config.write(path)
    raw = json.loads(path.read_text())
    assert raw["version"] == 1 and [c["chain_id"] for c in raw["chains"]] == [1, 42161]
    assert (
        raw["chains"][0]["lz_eid"] == 30101
        and raw["chains"][1]["ccip_selector"] == 4949039107694359620
    )
    assert DevnetConfig.load(path) == devnet.config


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[]", "not a JSON object"),
        ('{"version": 9}', "unsupported devnet config version"),
        ('{"version": 1, "chains": [{"chain_id": 1}]}', "malformed devnet config"),
        ("{", "cannot read devnet config"),
    ],
)
def test_bad_config_files_are_configuration_errors(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "devnet.json"
    path.write_text(text)
    with pytest.raises(ConfigurationError, match=match):
        DevnetConfig.load(path)


async def test_adapters_initialize_from_the_config_file(
    devnet: BackgroundDevnet, tmp_path: Path
) -> None:
    path = tmp_path / "devnet.json"
    devnet.config.write(path)
    for adapter in (LayerZeroBridge(), CCIPBridge()):
        await adapter.initialize({"devnet_config": str(path), "refund_timeout_s": 30})
        try:
            assert adapter.supported_chains() == {1, 42161}
            assert adapter.refund_timeout_s == 30
            message = SettlementMessage(1, 10, "job", "sha256:" + "ab" * 32, 1, "0x" + "11" * 20)
            with pytest.raises(UnsupportedChainError):
                await adapter.estimate_cost(message)
        finally:
            await adapter.close()


async def test_adapter_config_errors_are_clear(devnet: BackgroundDevnet) -> None:
    adapter = LayerZeroBridge()
    with pytest.raises(ConfigurationError, match="needs 'chains'"):
        await adapter.initialize({"enabled": True, "chains": {}})
    config = devnet.config.bridge_config()
    config["chains"]["1"] = {**config["chains"]["1"], "source": "0x1234"}
    with pytest.raises(ConfigurationError, match="invalid addresses"):
        await adapter.initialize(config)
    await adapter.close()


def test_devnet_arguments_are_checked() -> None:
    with pytest.raises(ConfigurationError, match="two or more distinct"):
        Devnet([1])
    with pytest.raises(ConfigurationError, match="unknown devnet backend"):
        Devnet([1, 2], backend="ganache")
    assert _parse_chain_ids("1, 42161,137") == [1, 42161, 137]
    for bad in ("1", "1,1", "1,x", "0,5"):
        with pytest.raises(typer.BadParameter):
            _parse_chain_ids(bad)


def test_devnet_chains_without_public_ids_get_devnet_ids() -> None:
    assert bridge_ids(42161, 0) == (30110, 4949039107694359620)
    first, second = bridge_ids(31337, 0), bridge_ids(31338, 1)
    assert (first[0], second[0]) == (50001, 50002)
    assert first[1] != second[1] and first[1] == bridge_ids(31337, 5)[1]
