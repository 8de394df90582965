"""Crashes and restarts: a new manager on the same SQLite file finishes what the old one
started, asking the chain before it sends anything."""

from __future__ import annotations

from typing import Any

import pytest

from aitbc.errors import TransportTimeout
from aitbc.settlement.bridges.base import BridgeStatus
from aitbc.settlement.store import SEND_PREPARED, SEND_SENT

from .memory_bridge import MemoryChains, ProcessDied
from .waiting import stored_status

COMPLETED = BridgeStatus.COMPLETED


async def test_restart_resumes_tracking_and_reports_final_status(
    open_manager: Any, make_message: Any, chains: MemoryChains
) -> None:
    first = await open_manager()
    chains.drop = True  # still in flight when the process stops
    sent = await first.settle_cross_chain(make_message(), "memory")
    await first.close()
    chains.drop = False
    second = await open_manager()
    assert second._tracker.tracked == [sent.message_id]
    final = await stored_status(second, sent.message_id, COMPLETED)
    assert final.transaction_hash == sent.transaction_hash and chains.sends == 1


async def test_crash_before_send_is_sent_once_on_restart(
    open_manager: Any, make_message: Any, chains: MemoryChains
) -> None:
    first = await open_manager()
    chains.die_before_send = True
    message = make_message()
    with pytest.raises(ProcessDied):
        await first.settle_cross_chain(message, "memory")
    record = await first.store.get_by_receipt(message.receipt_hash)
    assert record is not None and record.send_state == SEND_PREPARED and chains.sends == 0
    await first.close()
    chains.die_before_send = False
    second = await open_manager()  # recovery: the chain never saw it, so send now
    assert chains.sends == 1
    await stored_status(second, record.message_id, COMPLETED)
    again = await second.settle_cross_chain(message, "memory")
    assert again.message_id == record.message_id and chains.sends == 1


async def test_crash_after_send_adopts_the_chain_state_without_resending(
    open_manager: Any, make_message: Any, chains: MemoryChains
) -> None:
    first = await open_manager()
    chains.die_after_send = True
    message = make_message()
    with pytest.raises(ProcessDied):
        await first.settle_cross_chain(message, "memory")
    await first.close()
    chains.die_after_send = False
    second = await open_manager()
    record = await second.store.get_by_receipt(message.receipt_hash)
    assert record is not None and record.send_state == SEND_SENT
    assert record.result.transaction_hash is not None and chains.sends == 1
    await stored_status(second, record.message_id, COMPLETED)
    assert chains.sends == 1


async def test_repeat_settle_recovers_a_crashed_record_without_restart(
    open_manager: Any, make_message: Any, chains: MemoryChains
) -> None:
    manager = await open_manager()
    chains.die_after_send = True
    message = make_message()
    with pytest.raises(ProcessDied):
        await manager.settle_cross_chain(message, "memory")
    chains.die_after_send = False
    again = await manager.settle_cross_chain(message, "memory")
    assert again.transaction_hash is not None and chains.sends == 1
    await stored_status(manager, again.message_id, COMPLETED)


async def test_crashed_record_is_reprepared_when_the_nonce_moved_on(
    open_manager: Any, make_message: Any, chains: MemoryChains
) -> None:
    first = await open_manager()
    chains.die_before_send = True
    crashed = make_message()
    with pytest.raises(ProcessDied):
        await first.settle_cross_chain(crashed, "memory")
    old = await first.store.get_by_receipt(crashed.receipt_hash)
    assert old is not None
    chains.die_before_send = False
    await first.settle_cross_chain(make_message(), "memory")  # takes the old one's nonce
    await first.close()
    second = await open_manager()
    renewed = await second.store.get_by_receipt(crashed.receipt_hash)
    assert renewed is not None and renewed.send_state == SEND_SENT
    assert renewed.message_id != old.message_id and chains.sends == 2
    assert await second.store.get(old.message_id) is None
    await stored_status(second, renewed.message_id, COMPLETED)


async def test_restart_with_the_bridge_disabled_keeps_the_record(
    open_manager: Any, make_message: Any, chains: MemoryChains, db_path: Any, coordinator_key: Any
) -> None:
    from aitbc.settlement.manager import BridgeManager

    first = await open_manager()
    chains.drop = True
    sent = await first.settle_cross_chain(make_message(), "memory")
    await first.close()
    bare = BridgeManager(db_path, trusted_keys=[coordinator_key.verify_key])
    await bare.initialize()
    try:
        assert bare._tracker.tracked == []
        status = await bare.get_settlement_status(sent.message_id)
        assert status.status is BridgeStatus.IN_PROGRESS
    finally:
        await bare.close()


@pytest.mark.parametrize("landed", [False, True], ids=["lost", "landed"])
async def test_send_with_unknown_outcome_is_recovered_by_the_tracker(
    open_manager: Any, make_message: Any, chains: MemoryChains, landed: bool
) -> None:
    manager = await open_manager()
    chains.send_times_out, chains.timeout_after_landing = 1, landed
    message = make_message()
    with pytest.raises(TransportTimeout):
        await manager.settle_cross_chain(message, "memory")
    record = await manager.store.get_by_receipt(message.receipt_hash)
    assert record is not None and record.result.error_message is not None
    await stored_status(manager, record.message_id, COMPLETED)
    assert chains.sends == 1  # sent once, whether or not the first send had landed


async def test_a_record_another_live_process_wrote_is_not_resent(
    open_manager: Any, make_message: Any, chains: MemoryChains
) -> None:
    other = await open_manager()  # a second process on the same store, already running
    first = await open_manager()
    chains.die_before_send = True
    message = make_message()
    with pytest.raises(ProcessDied):  # the first process is stuck mid-send
        await first.settle_cross_chain(message, "memory")
    chains.die_before_send = False
    seen = await other.settle_cross_chain(message, "memory")
    assert seen.status is BridgeStatus.PENDING and chains.sends == 0
    await first.close()
    await other.close()
    restarted = await open_manager()  # whoever starts next owns the unfinished record
    await stored_status(restarted, seen.message_id, COMPLETED)
    assert chains.sends == 1
