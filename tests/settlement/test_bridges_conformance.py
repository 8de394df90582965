"""Both EVM bridge adapters pass the conformance suite on a py-evm devnet.

The ``devnet`` fixture (tests/settlement/conftest.py) is one BackgroundDevnet of chains
1 and 42161 shared by the session.
"""

from __future__ import annotations

import pytest

pytest.importorskip("eth_tester", reason="the py-evm devnet needs the evm extra")

from aitbc.devnet import BackgroundDevnet
from aitbc.devnet.harness import DevnetHarness
from aitbc.settlement.bridges.ccip import CCIPBridge
from aitbc.settlement.bridges.conformance import CHECKS, Check
from aitbc.settlement.bridges.layerzero import LayerZeroBridge

pytestmark = pytest.mark.evm

ADAPTERS = {"layerzero": LayerZeroBridge, "ccip": CCIPBridge}


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__.removeprefix("check_"))
@pytest.mark.parametrize("bridge", sorted(ADAPTERS))
async def test_conformance(devnet: BackgroundDevnet, bridge: str, check: Check) -> None:
    harness = DevnetHarness(devnet.config, devnet.relayer, ADAPTERS[bridge], bridge, 1, 42161)
    await check(harness)
