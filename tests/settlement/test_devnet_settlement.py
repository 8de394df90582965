"""Done-when scenarios through BridgeManager on the py-evm devnet, for both bridges:
completion, reverting receiver + retry, low gas + retry with more gas, drop + refund after
the timeout, restart mid-settlement, and crash recovery without double sending."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from aitbc.core.signing import SigningKey
from aitbc.errors import BridgeTransactionError
from aitbc.settlement.bridges.base import BridgeStatus
from aitbc.settlement.bridges.base import SettlementResult as Result
from aitbc.settlement.store import SEND_PREPARED, SEND_SENT, SettlementRecord

from .devnet_steps import (
    ADAPTERS,
    REFUND_TIMEOUT_S,
    TARGET,
    devnet_message,
    fault,
    harness_for,
    open_devnet_manager,
)
from .waiting import stored_status

pytestmark = [pytest.mark.evm, pytest.mark.parametrize("bridge", sorted(ADAPTERS))]

COMPLETED, FAILED = BridgeStatus.COMPLETED, BridgeStatus.FAILED
DEADLINE = 60.0


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "settlements.db"


async def test_settlement_completes(
    devnet: Any, bridge: str, db: Path, coordinator_key: SigningKey
) -> None:
    harness = harness_for(devnet, bridge)
    manager = await open_devnet_manager(devnet, bridge, db, coordinator_key)
    try:
        message = await devnet_message(harness, coordinator_key)
        sent = await manager.settle_cross_chain(message, bridge)
        assert sent.status is BridgeStatus.IN_PROGRESS and sent.transaction_hash
        assert sent.fee_paid and sent.fee_paid > 0
        done = await stored_status(manager, sent.message_id, COMPLETED, deadline=DEADLINE)
        assert done.completed_at is not None
        assert await harness.recipient_balance(message) == message.payment_amount
        again = await manager.settle_cross_chain(message, bridge)
        assert again.message_id == sent.message_id and again.status is COMPLETED
    finally:
        await manager.close()


async def test_reverting_receiver_fails_and_retry_completes(
    devnet: Any, bridge: str, db: Path, coordinator_key: SigningKey
) -> None:
    harness = harness_for(devnet, bridge)
    manager = await open_devnet_manager(devnet, bridge, db, coordinator_key)
    try:
        message = await devnet_message(harness, coordinator_key, accepting=False)
        sent = await manager.settle_cross_chain(message, bridge)
        failed = await stored_status(manager, sent.message_id, FAILED, deadline=DEADLINE)
        assert failed.error_message
        await harness.set_accepting(message, True)
        await manager.retry(sent.message_id)
        await stored_status(manager, sent.message_id, COMPLETED, deadline=DEADLINE)
        assert await harness.recipient_balance(message) == message.payment_amount
    finally:
        await manager.close()


async def test_too_little_gas_fails_and_retry_with_more_gas_completes(
    devnet: Any, bridge: str, db: Path, coordinator_key: SigningKey
) -> None:
    harness = harness_for(devnet, bridge)
    manager = await open_devnet_manager(devnet, bridge, db, coordinator_key)
    try:
        message = await devnet_message(harness, coordinator_key, gas_limit=1_000)
        sent = await manager.settle_cross_chain(message, bridge)
        await stored_status(manager, sent.message_id, FAILED, deadline=DEADLINE)
        await manager.retry(sent.message_id, gas_limit=300_000)
        await stored_status(manager, sent.message_id, COMPLETED, deadline=DEADLINE)
        record = await manager.store.get(sent.message_id)
        assert record is not None and record.attempts == 2
    finally:
        await manager.close()


async def test_dropped_message_is_refunded_after_the_timeout(
    devnet: Any, bridge: str, db: Path, coordinator_key: SigningKey
) -> None:
    harness = harness_for(devnet, bridge)
    manager = await open_devnet_manager(
        devnet, bridge, db, coordinator_key, before_send=fault(harness, "drop")
    )
    try:
        message = await devnet_message(harness, coordinator_key)
        sent = await manager.settle_cross_chain(message, bridge)
        with pytest.raises(BridgeTransactionError):
            await manager.refund(sent.message_id)
        assert (
            await manager.get_settlement_status(sent.message_id)
        ).status is BridgeStatus.IN_PROGRESS
        # the deadline is in destination time: only the destination clock matters
        await harness.advance_time(TARGET, 2 * REFUND_TIMEOUT_S)
        cancelled = await manager.refund(sent.message_id)
        assert cancelled.status in (BridgeStatus.IN_PROGRESS, BridgeStatus.REFUNDED)
        await stored_status(manager, sent.message_id, BridgeStatus.REFUNDED, deadline=DEADLINE)
        assert await harness.recipient_balance(message) == 0
    finally:
        await manager.close()


async def test_restarted_process_picks_up_and_reports_final_status(
    devnet: Any, bridge: str, db: Path, coordinator_key: SigningKey
) -> None:
    harness = harness_for(devnet, bridge)
    message = await devnet_message(harness, coordinator_key)
    # delayed by the relayer: still in flight when the first process stops
    first = await open_devnet_manager(
        devnet, bridge, db, coordinator_key, before_send=fault(harness, "delay")
    )
    try:
        sent = await first.settle_cross_chain(message, bridge)
    finally:
        await first.close()
    assert sent.status is BridgeStatus.IN_PROGRESS
    second = await open_devnet_manager(devnet, bridge, db, coordinator_key)
    try:
        assert second._tracker.tracked == [sent.message_id]
        done = await stored_status(second, sent.message_id, COMPLETED, deadline=DEADLINE)
        assert done.transaction_hash == sent.transaction_hash
        assert await harness.recipient_balance(message) == message.payment_amount
    finally:
        await second.close()


async def _store_prepared(
    manager: Any, harness: Any, message: Any, bridge: str
) -> SettlementRecord:
    """What a process that died right after writing its record leaves behind."""
    adapter = await harness.new_adapter()
    try:
        prepared = await adapter.prepare(message)
    finally:
        await adapter.close()
    record = SettlementRecord(prepared, Result(prepared.message_id, BridgeStatus.PENDING, bridge))
    assert await manager.store.insert(record) is record
    return record


@pytest.mark.parametrize("sent_before_crash", [False, True], ids=["before-send", "after-send"])
async def test_crash_between_store_and_send_is_recovered_from_the_chain(
    devnet: Any, bridge: str, db: Path, coordinator_key: SigningKey, sent_before_crash: bool
) -> None:
    harness = harness_for(devnet, bridge)
    message = await devnet_message(harness, coordinator_key)
    first = await open_devnet_manager(devnet, bridge, db, coordinator_key)
    try:
        record = await _store_prepared(first, harness, message, bridge)
        assert record.send_state == SEND_PREPARED
        if sent_before_crash:  # the send reached the chain; its answer never got stored
            adapter = await harness.new_adapter()
            try:
                await adapter.send(record.prepared)
            finally:
                await adapter.close()
    finally:
        await first.close()
    second = await open_devnet_manager(devnet, bridge, db, coordinator_key)
    try:
        recovered = await second.store.get_by_receipt(message.receipt_hash)
        assert recovered is not None and recovered.send_state == SEND_SENT
        if sent_before_crash:  # adopted as it is on chain
            assert recovered.message_id == record.message_id
        await stored_status(second, recovered.message_id, COMPLETED, deadline=DEADLINE)
        # sent exactly once: paid once, and no second message for the receipt on chain
        assert await harness.recipient_balance(message) == message.payment_amount
        assert harness.rejected_deliveries(recovered.message_id) == 0
    finally:
        await second.close()
