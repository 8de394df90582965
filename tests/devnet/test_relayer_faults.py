"""The relayer's fault injection on a py-evm devnet: delay, reorder, under-gas."""

from __future__ import annotations

import asyncio

import pytest

from aitbc.devnet import BackgroundDevnet, FaultRule
from aitbc.devnet.harness import DevnetHarness
from aitbc.errors import ConfigurationError
from aitbc.settlement.bridges.base import BridgeAdapter, BridgeStatus
from aitbc.settlement.bridges.ccip import CCIPBridge
from aitbc.settlement.bridges.conformance import wait_for_status
from aitbc.settlement.bridges.layerzero import LayerZeroBridge

pytestmark = pytest.mark.evm

ADAPTERS: dict[str, type[BridgeAdapter]] = {"layerzero": LayerZeroBridge, "ccip": CCIPBridge}


def _harness(devnet: BackgroundDevnet, bridge: str) -> DevnetHarness:
    return DevnetHarness(devnet.config, devnet.relayer, ADAPTERS[bridge], bridge, 42161, 1)


@pytest.mark.parametrize("bridge", sorted(ADAPTERS))
async def test_delayed_message_stays_in_progress_then_completes(
    devnet: BackgroundDevnet, bridge: str
) -> None:
    harness = _harness(devnet, bridge)
    adapter = await harness.new_adapter()
    try:
        prepared = await adapter.prepare(await harness.message())
        devnet.relayer.add_fault(
            FaultRule("delay", bridge=bridge, message_id=prepared.message_id, delay_s=1.0)
        )
        await adapter.send(prepared)
        assert (await adapter.get_status(prepared)).status is BridgeStatus.IN_PROGRESS
        done = await wait_for_status(adapter, prepared, {BridgeStatus.COMPLETED})
        assert done.transaction_hash is not None
    finally:
        await adapter.close()


@pytest.mark.parametrize("bridge", sorted(ADAPTERS))
async def test_reordered_message_is_overtaken(devnet: BackgroundDevnet, bridge: str) -> None:
    harness = _harness(devnet, bridge)
    adapter = await harness.new_adapter()
    try:
        first = await adapter.prepare(await harness.message())
        devnet.relayer.add_fault(
            FaultRule("reorder", bridge=bridge, message_id=first.message_id, delay_s=20)
        )
        await adapter.send(first)
        second = await adapter.prepare(await harness.message())
        await adapter.send(second)
        for prepared in (first, second):
            await wait_for_status(adapter, prepared, {BridgeStatus.COMPLETED})
        # the relayer records a step once it has the receipt, which may be just after the
        # chain (and so get_status) shows the payment
        for _ in range(200):
            order = [a.message_id for a in devnet.relayer.attempts if a.step == "execute" and a.ok]
            if {first.message_id, second.message_id} <= set(order):
                break
            await asyncio.sleep(0.05)
        if bridge == "ccip":  # out-of-order execution allowed: the later message overtakes
            assert order.index(second.message_id) < order.index(first.message_id)
        else:
            # LayerZero orders execution per path, as the real endpoint does: the overtaking
            # message is verified first but waits until the earlier nonce is verified
            steps = [a.step for a in devnet.relayer.attempts_for(second.message_id)]
            assert "blocked" in steps
            assert order.index(first.message_id) < order.index(second.message_id)
    finally:
        await adapter.close()


@pytest.mark.parametrize("bridge", sorted(ADAPTERS))
async def test_under_gassed_execution_is_retried_by_the_adapter(
    devnet: BackgroundDevnet, bridge: str
) -> None:
    harness = _harness(devnet, bridge)
    adapter = await harness.new_adapter()
    try:
        message = await harness.message()
        prepared = await adapter.prepare(message)
        devnet.relayer.add_fault(
            FaultRule("under_gas", bridge=bridge, message_id=prepared.message_id, gas_limit=2_000)
        )
        await adapter.send(prepared)
        for _ in range(600):
            if any(a.step == "execute" for a in devnet.relayer.attempts_for(prepared.message_id)):
                break
            await _sleep()
        executes = [
            a for a in devnet.relayer.attempts_for(prepared.message_id) if a.step == "execute"
        ]
        assert executes and not executes[0].ok
        assert (await adapter.get_status(prepared)).status in (
            BridgeStatus.FAILED,
            BridgeStatus.IN_PROGRESS,
        )
        await adapter.retry(prepared)
        await wait_for_status(adapter, prepared, {BridgeStatus.COMPLETED})
        assert await harness.recipient_balance(message) == message.payment_amount
    finally:
        await adapter.close()


async def _sleep() -> None:
    import asyncio

    await asyncio.sleep(0.05)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"action": "explode"}, "unknown fault action"),
        ({"action": "drop", "bridge": "wormhole"}, "unknown bridge"),
        ({"action": "drop", "times": 0}, "times must be"),
    ],
)
def test_bad_fault_rules_are_refused(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        FaultRule(**kwargs)  # type: ignore[arg-type]


def test_rules_are_consumed_per_use() -> None:
    from aitbc.devnet.faults import FaultPlan

    plan = FaultPlan()
    plan.add(FaultRule("drop", bridge="ccip", times=2))
    plan.add(FaultRule("delay", message_id="0xAB", times=None))
    assert [r.action for r in plan.take("ccip", "0xab")] == ["drop", "delay"]
    assert [r.action for r in plan.take("layerzero", "0xab")] == ["delay"]
    assert [r.action for r in plan.take("ccip", "0xcd")] == ["drop"]
    assert plan.take("ccip", "0xcd") == []
