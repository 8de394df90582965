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

The same invariants hold through BridgeManager when the manager dies after recording the
intent, after its send transaction was mined, or while following the settlement, and a
fresh manager on the same store finishes it (one on-chain send per settlement).

Examples are few and bounded (py-evm is slow); the devnet is this module's own, so no
other test's messages move the balances measured here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("eth_tester", reason="the py-evm devnet needs the evm extra")

from eth_account import Account
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aitbc.contracts import load_artifact
from aitbc.core.signing import SigningKey
from aitbc.devnet import BackgroundDevnet
from aitbc.devnet.harness import DevnetHarness
from aitbc.errors import BridgeTransactionError, ConflictError
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
from aitbc.settlement.manager import BridgeManager
from aitbc.settlement.store import SEND_PREPARED, SettlementRecord

from .devnet_steps import devnet_message

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
    except (BridgeTransactionError, ConflictError):  # refused now; the next poll tries again
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


# -- the same invariants through BridgeManager, killed mid-settlement ---------------------
#
# A manager (its durable SQLite store on disk) dies at one of three points; a fresh manager
# on the same store carries on and the operator drives the settlement to its end through
# that manager only. Per bridge, every crash point and every ending (delivered, the
# recipient first refusing, the message dropped) occurs, paired as a Latin square shifted
# per bridge (6 runs instead of 18, to keep the suite's time down).


class Crash(BaseException):
    """The process died here: nothing after this line of the manager runs (a
    BaseException, so no ``except Exception`` in the manager or an adapter catches it)."""


CRASH_POINTS = ("after_record", "after_send_tx", "before_completion")
ENDINGS = ("delivered", "refused", "dropped")


def _dying_adapter(bridge: str, harness: DevnetHarness, fault: str | None, crash: str) -> Any:
    """A real adapter that aims ``fault`` at each message it sends and dies at ``crash``."""

    class Dying(ADAPTERS[bridge]):  # type: ignore[misc]
        async def send(self, prepared: PreparedSettlement) -> Any:
            if fault is not None:
                harness.inject(fault, prepared.message_id)
            if crash == "after_record":  # the intent is stored; no transaction went out
                raise Crash
            result = await super().send(prepared)
            if crash == "after_send_tx":  # mined, but the manager never stored the result
                raise Crash
            return result

    return Dying()


async def _open_manager(
    devnet: BackgroundDevnet, bridge: str, db: Path, coordinator: SigningKey, adapter: Any
) -> BridgeManager:
    manager = BridgeManager(db, trusted_keys=[coordinator.verify_key], poll_interval=POLL_S)
    manager.register_adapter(bridge, adapter)
    config = devnet.config.bridge_config("payer", refund_timeout_s=TIMEOUT_S)
    await manager.initialize({bridge: config})
    return manager


async def _sends_of(devnet: BackgroundDevnet, receipt_hash: str) -> list[Any]:
    """Every SettlementSent the source contract emitted for this receipt."""
    src = devnet.config.chain(SOURCE)
    async with web3_session(src.rpc_url) as w3:
        contract = w3.eth.contract(  # type: ignore[call-overload]
            address=src.contracts.source, abi=load_artifact("AitbcSettlementSource").abi
        )
        receipt = bytes.fromhex(receipt_hash.removeprefix("sha256:"))
        return list(
            await contract.events.SettlementSent().get_logs(
                from_block=0, argument_filters={"receiptHash": receipt}
            )
        )


async def _drive_manager(
    manager: BridgeManager, harness: DevnetHarness, message: Any
) -> SettlementRecord:
    """Act like an operator through the manager only, until the settlement is final."""
    fixed = False
    for polls in range(MAX_POLLS):
        record = await manager.store.get_by_receipt(message.receipt_hash)
        assert record is not None
        status = await manager.get_settlement_status(record.message_id)
        if status.status.is_final:
            final = await manager.store.get(record.message_id)
            assert final is not None
            return final
        if status.status is BridgeStatus.FAILED:
            if "deadline" in (status.error_message or "") or "cancelled" in (
                status.error_message or ""
            ):
                await _try(manager.refund(record.message_id))
            else:
                if not fixed:
                    await harness.set_accepting(message, True)
                    fixed = True
                await _try(manager.retry(record.message_id, 300_000))
        elif status.status is BridgeStatus.IN_PROGRESS and polls and polls % 20 == 0:
            if not fixed:
                await harness.set_accepting(message, True)
                fixed = True
            if not await _try(manager.retry(record.message_id, 300_000)):
                await harness.advance_time(TARGET, 2 * TIMEOUT_S)
                await _try(manager.refund(record.message_id))
        await asyncio.sleep(POLL_S)
    raise AssertionError(f"{message.receipt_hash} never ended")


async def _escrow_moved(reader: Any, prepared: PreparedSettlement) -> int:
    """The source escrow's final state: the destination's report (paid → released to the
    liquidity provider, cancelled → refunded) comes back through the bridge after the
    destination has settled, so it may lag the COMPLETED status."""
    for _ in range(MAX_POLLS):
        state = int(await reader.source_state(prepared))
        if state in (SRC_RELEASED, SRC_REFUNDED):
            return state
        await asyncio.sleep(POLL_S)
    raise AssertionError(f"the escrow of {prepared.message_id} never moved")


async def _manager_scenario(
    devnet: BackgroundDevnet, bridge: str, crash: str, ending: str, db: Path
) -> None:
    harness = DevnetHarness(devnet.config, devnet.relayer, ADAPTERS[bridge], bridge, SOURCE, TARGET)
    ledger, coordinator = Ledger(devnet), SigningKey.generate()
    fault = "drop" if ending == "dropped" else None
    message = await devnet_message(harness, coordinator, accepting=ending != "refused")
    before = await ledger.snapshot(message.recipient)

    first = await _open_manager(
        devnet, bridge, db, coordinator, _dying_adapter(bridge, harness, fault, crash)
    )
    try:
        if crash == "before_completion":  # sent and stored; dies while tracking
            sent = await first.settle_cross_chain(message, bridge)
            assert sent.status is BridgeStatus.IN_PROGRESS
        else:
            with pytest.raises(Crash):
                await first.settle_cross_chain(message, bridge)
            stored = await first.store.get_by_receipt(message.receipt_hash)
            assert stored is not None and stored.send_state == SEND_PREPARED
    finally:
        await first.close()  # releases sockets and the file; writes nothing
    assert len(await _sends_of(devnet, message.receipt_hash)) == (crash != "after_record")

    fresh = await _open_manager(
        devnet, bridge, db, coordinator, _dying_adapter(bridge, harness, fault, "never")
    )
    reader: Any = await harness.new_adapter(refund_timeout_s=TIMEOUT_S)
    try:
        record = await _drive_manager(fresh, harness, message)
        again = await fresh.settle_cross_chain(message, bridge)  # settling again sends nothing
        assert again.message_id == record.message_id
        sends = await _sends_of(devnet, message.receipt_hash)
        assert len(sends) == 1, f"{len(sends)} on-chain sends for one settlement"
        assert "0x" + bytes(sends[0]["args"]["settlementId"]).hex() == record.message_id
        await _second_send_refused(reader, record.prepared)
        state = await _escrow_moved(reader, record.prepared)
    finally:
        await reader.close()
        await fresh.close()
    settle_cost = await _tx_cost(
        devnet.config.chain(SOURCE).rpc_url, "0x" + bytes(sends[0]["transactionHash"]).hex()
    )
    after = await ledger.snapshot(message.recipient)
    delta = {k: after[k] - before[k] for k in before}
    amount, fee = message.payment_amount, record.prepared.fee.native_fee
    paid, refunded = delta["recipient"] == amount, state == SRC_REFUNDED
    assert paid != refunded, f"paid={paid} refunded={refunded} ({crash}, {ending})"
    assert record.result.status is (BridgeStatus.COMPLETED if paid else BridgeStatus.REFUNDED)
    assert delta["recipient"] in (0, amount)
    assert delta["lz_fees"] + delta["ccip_fees"] == fee
    assert delta["escrow"] == 0
    assert delta["pool"] == (-amount if paid else 0)
    assert delta["lp"] == (amount if paid else 0)
    assert delta["payer"] == -fee - settle_cost - (amount if paid else 0)
    assert sum(delta.values()) + settle_cost == 0


MANAGER_CASES = [
    (bridge, crash, ENDINGS[(i + shift) % len(ENDINGS)])
    for shift, bridge in enumerate(sorted(ADAPTERS))
    for i, crash in enumerate(CRASH_POINTS)
]


@pytest.mark.parametrize(("bridge", "crash", "ending"), MANAGER_CASES)
def test_a_fresh_manager_finishes_what_a_dead_one_started(
    devnet: BackgroundDevnet, bridge: str, crash: str, ending: str, tmp_path: Path
) -> None:
    asyncio.run(_manager_scenario(devnet, bridge, crash, ending, tmp_path / "settlements.db"))
