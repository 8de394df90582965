"""The same settlement flows on anvil (skipped when the anvil binary is not installed)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from aitbc.devnet import BackgroundDevnet
from aitbc.devnet.harness import DevnetHarness
from aitbc.devnet.nodes import find_anvil
from aitbc.settlement.bridges.base import BridgeAdapter
from aitbc.settlement.bridges.ccip import CCIPBridge
from aitbc.settlement.bridges.conformance import (
    Check,
    check_dropped_message_is_refunded,
    check_low_gas_then_retry_with_more,
    check_settlement_completes,
)
from aitbc.settlement.bridges.layerzero import LayerZeroBridge

pytestmark = [
    pytest.mark.anvil,
    pytest.mark.skipif(
        find_anvil() is None,
        reason="anvil not installed: `npm install` at the repo root (@foundry-rs/anvil)",
    ),
]

ADAPTERS: dict[str, type[BridgeAdapter]] = {"layerzero": LayerZeroBridge, "ccip": CCIPBridge}
CHECKS = (
    check_settlement_completes,
    check_low_gas_then_retry_with_more,
    check_dropped_message_is_refunded,
)


@pytest.fixture(scope="module")
def anvil_devnet() -> Iterator[BackgroundDevnet]:
    """Two anvil chains (1 and 137) with the contracts and the relayer."""
    with BackgroundDevnet([1, 137], backend="anvil") as running:
        yield running


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__.removeprefix("check_"))
@pytest.mark.parametrize("bridge", sorted(ADAPTERS))
async def test_flows_on_anvil(anvil_devnet: BackgroundDevnet, bridge: str, check: Check) -> None:
    assert anvil_devnet.config.backend == "anvil"
    harness = DevnetHarness(
        anvil_devnet.config, anvil_devnet.relayer, ADAPTERS[bridge], bridge, 1, 137
    )
    await check(harness)
