"""Steps shared by the settlement tests on the devnet: managers on real chains, messages
backed by real signed receipts paying fresh TestRecipient contracts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from aitbc.core.signing import SigningKey
from aitbc.devnet.harness import DevnetHarness
from aitbc.settlement.bridges.base import (
    BridgeAdapter,
    PreparedSettlement,
    SettlementMessage,
    SettlementResult,
)
from aitbc.settlement.bridges.ccip import CCIPBridge
from aitbc.settlement.bridges.layerzero import LayerZeroBridge
from aitbc.settlement.manager import BridgeManager
from aitbc.settlement.proof import message_from_receipt

from .receipts import make_receipt

SOURCE, TARGET = 1, 42161
PRICE_WEI = 10**15
REFUND_TIMEOUT_S = 60
ADAPTERS: dict[str, Any] = {"layerzero": LayerZeroBridge, "ccip": CCIPBridge}


def harness_for(devnet: Any, bridge: str) -> DevnetHarness:
    """The chain-side helpers (recipients, faults, clock) for ``bridge``."""
    return DevnetHarness(devnet.config, devnet.relayer, ADAPTERS[bridge], bridge, SOURCE, TARGET)


def bridge_configs(devnet: Any, bridge: str) -> dict[str, Any]:
    """BridgeManager.initialize config: ``bridge`` on the devnet, paid by the payer key."""
    return {bridge: devnet.config.bridge_config("payer", refund_timeout_s=REFUND_TIMEOUT_S)}


async def open_devnet_manager(
    devnet: Any,
    bridge: str,
    storage: str | Path,
    coordinator: SigningKey,
    *,
    before_send: Callable[[str], None] | None = None,
) -> BridgeManager:
    """A manager loading ``bridge`` through the ``aitbc.bridges`` entry point, or, with
    ``before_send``, a real adapter that calls it with each message id just before sending
    (to aim a relayer fault at a message whose id only exists once prepared)."""
    manager = BridgeManager(storage, trusted_keys=[coordinator.verify_key], poll_interval=0.05)
    if before_send is not None:
        manager.register_adapter(bridge, _aimed(ADAPTERS[bridge], before_send))
    await manager.initialize(bridge_configs(devnet, bridge))
    return manager


def _aimed(cls: Any, before_send: Callable[[str], None]) -> BridgeAdapter:
    class Aimed(cls):  # type: ignore[misc, valid-type]
        async def send(self, prepared: PreparedSettlement) -> SettlementResult:
            before_send(prepared.message_id)
            result: SettlementResult = await super().send(prepared)
            return result

    adapter: BridgeAdapter = Aimed()
    return adapter


async def devnet_message(
    harness: DevnetHarness,
    coordinator: SigningKey,
    *,
    accepting: bool = True,
    gas_limit: int = 200_000,
) -> SettlementMessage:
    """A message for a fresh signed receipt paying a new TestRecipient on the target."""
    recipient = (await harness.message(accepting=accepting)).recipient
    receipt = make_receipt(coordinator, price=PRICE_WEI, chain_id=SOURCE)
    return message_from_receipt(
        receipt, target_chain_id=TARGET, recipient=recipient, gas_limit=gas_limit
    )


def fault(harness: DevnetHarness, action: str) -> Callable[[str], None]:
    """A ``before_send`` hook making the relayer ``action`` the message being sent."""
    return lambda message_id: harness.inject(action, message_id)
