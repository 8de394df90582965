"""Property tests of the settlement invariants on a py-evm devnet, for both bridges.

Each example runs one settlement through a random mix of relayer faults (delay, drop,
duplicate, under-gas), a recipient that first refuses payment (the delivery reverts),
clock skew in either direction and an SDK crash/restart (a fresh adapter with no memory),
then drives it to its end the way an operator would (retry a failed delivery, refund after
the deadline). Whatever happened, afterwards:

- exactly one of {recipient paid, payer refunded} holds, never both;
- value is conserved across both chains to the wei: payer, source escrow, bridge fees,
  destination pool, recipient, liquidity provider;
- the liquidity provider got back exactly what the pool paid out.

Examples are few and bounded (py-evm is slow); the devnet is this module's own, so no
other test's messages move the balances measured here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

pytest.importorskip("eth_tester", reason="the py-evm devnet needs the evm extra")

from eth_account import Account
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aitbc.devnet import BackgroundDevnet
from aitbc.devnet.harness import DevnetHarness
from aitbc.errors import BridgeTransactionError
from aitbc.settlement.bridges._evm import guarded, web3_session
from aitbc.settlement.bridges._evm_bridge import (
    DST_CANCELLED,
    SRC_PENDING,
    SRC_REFUNDED,
    SRC_RELEASED,
    EvmSettlementBridge,
)
from aitbc.settlement.bridges.base import BridgeStatus, PreparedSettlement
from aitbc.settlement.bridges.ccip import CCIPBridge
from aitbc.settlement.bridges.layerzero import LayerZeroBridge

pytestmark = pytest.mark.evm

SOURCE, TARGET = 1, 42161
ADAPTERS: dict[str, Any] = {"layerzero": LayerZeroBridge, "ccip": CCIPBridge}
TIMEOUT_S = 120
POLL_S = 0.05
MAX_POLLS = 600  # a bound, not a timing assertion: an example that never ends fails


@pytest.fixture(scope="module")
def devnet() -> Iterator[BackgroundDevnet]:
    with BackgroundDevnet([SOURCE, TARGET]) as running:
        yield running


@dataclass(frozen=True)
class Scenario:
    fault: str | None
    refusing: bool
    skew: str
    crash: str


scenarios = st.builds(
    Scenario,
    fault=st.sampled_from([None, "delay", "drop", "duplicate", "under_gas"]),
    refusing=st.booleans(),
    skew=st.sampled_from(["none", "source_ahead", "target_ahead"]),
    crash=st.sampled_from(["none", "before_send", "after_send"]),
)


class Ledger:
    """Balances of every party on both chains."""

    def __init__(self, devnet: BackgroundDevnet) -> None:
        self.config = devnet.config
        self.lp = Account.from_key(self.config.keys["deployer"]).address
        self.payer = Account.from_key(self.config.keys["payer"]).address

    async def snapshot(self, recipient: str) -> dict[str, int]:
        src, dst = self.config.chain(SOURCE), self.config.chain(TARGET)
        accounts = {
            "payer": (src, self.payer),
            "escrow": (src, src.contracts.source),
            "lz_fees": (src, src.contracts.lz_endpoint),
            "ccip_fees": (src, src.contracts.ccip_router),
            "lp": (src, self.lp),
            "pool": (dst, dst.contracts.destination),
            "recipient": (dst, recipient),
        }
        out = {}
        for name, (chain, address) in accounts.items():
            async with web3_session(chain.rpc_url) as w3:
                out[name] = int(await guarded("eth_getBalance", w3.eth.get_balance(address)))  # type: ignore[arg-type]
        return out


async def _tx_cost(rpc_url: str, tx_hash: str) -> int:
    async with web3_session(rpc_url) as w3:
        receipt = await w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        return int(receipt["gasUsed"]) * int(receipt["effectiveGasPrice"])


async def _drive(
    adapter: EvmSettlementBridge, harness: DevnetHarness, prepared: PreparedSettlement
) -> None:
    """Act like an operator until the source escrow has moved (released or refunded)."""
    message = prepared.message
    fixed = False
    for polls in range(MAX_POLLS):
        if await adapter.source_state(prepared) in (SRC_RELEASED, SRC_REFUNDED):
            return
        status = await adapter.get_status(prepared)
        if status.status is BridgeStatus.FAILED:
            if await adapter.destination_outcome(prepared) == DST_CANCELLED or "deadline" in (
                status.error_message or ""
            ):
                await _try(adapter.refund(prepared))
            else:
                if not fixed:
                    await harness.set_accepting(message, True)
                    fixed = True
                await _try(adapter.retry(prepared, 300_000))
        elif status.status is BridgeStatus.IN_PROGRESS and polls and polls % 20 == 0:
            # stuck (a dropped packet, an execution that ran out of gas): re-execute if the
            # bridge holds it, else let the deadline pass on the destination and refund
            if not fixed:
                await harness.set_accepting(message, True)
                fixed = True
            if not await _try(adapter.retry(prepared, 300_000)):
                await harness.advance_time(TARGET, 2 * TIMEOUT_S)
                await _try(adapter.refund(prepared))
        await asyncio.sleep(POLL_S)
    raise AssertionError(f"{prepared.message_id} never ended: {await adapter.get_status(prepared)}")


async def _try(call: Any) -> bool:
    try:
        await call
    except BridgeTransactionError:
        return False
    return True


async def _second_send_refused(adapter: Any, prepared: PreparedSettlement) -> None:
    m, x = prepared.message, prepared.extra
    src = adapter.chain(SOURCE)
    receipt = bytes.fromhex(m.receipt_hash.removeprefix("sha256:"))
    call = src.source.functions.settle(
        adapter.bridge_code,
        x["route"],
        receipt,
        m.recipient,
        m.payment_amount,
        x["deadline"],
        m.gas_limit,
    )
    value = m.payment_amount + prepared.fee.native_fee
    with pytest.raises(BridgeTransactionError, match="AlreadyOpen"):
        await guarded("settle", call.call({"from": x["payer"], "value": value}), src.source.abi)


async def _scenario(devnet: BackgroundDevnet, bridge: str, s: Scenario) -> None:
    harness = DevnetHarness(devnet.config, devnet.relayer, ADAPTERS[bridge], bridge, SOURCE, TARGET)
    ledger = Ledger(devnet)
    adapter: Any = await harness.new_adapter(refund_timeout_s=TIMEOUT_S)
    message = await harness.message(accepting=not s.refusing)
    before = await ledger.snapshot(message.recipient)
    if s.skew == "source_ahead":
        await harness.advance_time(SOURCE, 3 * TIMEOUT_S)
    prepared = await adapter.prepare(message)
    if s.crash == "before_send":  # the process died after recording, before sending
        await adapter.close()
        adapter = await harness.new_adapter(refund_timeout_s=TIMEOUT_S)
        assert (await adapter.get_status(prepared)).transaction_hash is None
    if s.fault is not None:
        harness.inject(s.fault, prepared.message_id)
    if s.skew == "target_ahead":  # the destination clock runs past the deadline
        await harness.advance_time(TARGET, 2 * TIMEOUT_S)
    sent = await adapter.send(prepared)
    settle_cost = await _tx_cost(devnet.config.chain(SOURCE).rpc_url, str(sent.transaction_hash))
    if s.crash == "after_send":  # restart: a fresh adapter finds the send by our id
        await adapter.close()
        adapter = await harness.new_adapter(refund_timeout_s=TIMEOUT_S)
        found = await adapter.get_status(prepared)
        assert found.transaction_hash == sent.transaction_hash
    try:
        await _drive(adapter, harness, prepared)
        # a second send of the same settlement is refused: one on-chain send per settlement
        await _second_send_refused(adapter, prepared)
        state = await adapter.source_state(prepared)
    finally:
        await adapter.close()
    after = await ledger.snapshot(message.recipient)
    delta = {k: after[k] - before[k] for k in before}
    amount, fee = message.payment_amount, prepared.fee.native_fee
    paid = delta["recipient"] == amount
    refunded = state == SRC_REFUNDED
    assert paid != refunded, f"paid={paid} refunded={refunded} in {s}"
    assert delta["recipient"] in (0, amount)
    assert state != SRC_PENDING
    fees = delta["lz_fees"] + delta["ccip_fees"]
    assert fees == fee
    assert delta["escrow"] == 0
    assert delta["pool"] == (-amount if paid else 0)
    assert delta["lp"] == (amount if paid else 0)  # repaid exactly what the pool paid out
    assert delta["payer"] == -fee - settle_cost - (amount if paid else 0)
    # conserved across both chains (the payer's gas aside)
    assert sum(delta.values()) + settle_cost == 0


@pytest.mark.parametrize("bridge", sorted(ADAPTERS))
def test_every_settlement_ends_once_and_conserves_value(
    devnet: BackgroundDevnet, bridge: str
) -> None:
    @settings(
        max_examples=10,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(scenarios)
    def run(s: Scenario) -> None:
        asyncio.run(_scenario(devnet, bridge, s))

    run()
