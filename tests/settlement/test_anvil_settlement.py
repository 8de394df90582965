"""The restart scenario once more on anvil chains (when the anvil binary is installed)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aitbc.core.signing import SigningKey
from aitbc.settlement.bridges.base import BridgeStatus

from .devnet_steps import devnet_message, fault, harness_for, open_devnet_manager
from .waiting import stored_status

pytestmark = [pytest.mark.evm, pytest.mark.anvil]


@pytest.fixture(scope="module")
def anvil_devnet() -> Iterator[Any]:
    pytest.importorskip("eth_tester", reason="the devnet needs the evm extra")
    from aitbc.devnet import BackgroundDevnet
    from aitbc.devnet.nodes import find_anvil

    if find_anvil() is None:
        pytest.skip("anvil is not installed (npm install @foundry-rs/anvil)")
    with BackgroundDevnet([1, 42161], backend="anvil") as running:
        yield running


@pytest.mark.parametrize("bridge", ["layerzero", "ccip"])
async def test_restart_mid_settlement_on_anvil(
    anvil_devnet: Any, bridge: str, tmp_path: Path, coordinator_key: SigningKey
) -> None:
    harness = harness_for(anvil_devnet, bridge)
    message = await devnet_message(harness, coordinator_key)
    db = tmp_path / "settlements.db"
    first = await open_devnet_manager(
        anvil_devnet, bridge, db, coordinator_key, before_send=fault(harness, "delay")
    )
    try:
        sent = await first.settle_cross_chain(message, bridge)
    finally:
        await first.close()
    second = await open_devnet_manager(anvil_devnet, bridge, db, coordinator_key)
    try:
        await stored_status(second, sent.message_id, BridgeStatus.COMPLETED, deadline=60)
        assert await harness.recipient_balance(message) == message.payment_amount
    finally:
        await second.close()
