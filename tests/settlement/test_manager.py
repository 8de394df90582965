"""BridgeManager with a real SQLite store and an in-test adapter: the happy path, retry,
refund, quotes, bridge choice and the never-send-twice rule."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

from aitbc.errors import (
    BridgeNotFoundError,
    BridgeTransactionError,
    ConfigurationError,
    ConflictError,
    NotFoundError,
    UnsupportedChainError,
)
from aitbc.settlement.bridges.base import BridgeStatus
from aitbc.settlement.manager import BridgeManager

from .memory_bridge import MemoryBridge, MemoryChains
from .waiting import stored_status

COMPLETED, FAILED = BridgeStatus.COMPLETED, BridgeStatus.FAILED


async def test_settlement_is_stored_sent_and_tracked_to_completion(
    open_manager: Any, make_message: Any, chains: MemoryChains
) -> None:
    manager = await open_manager()
    chains.polls_to_deliver = 3
    message = make_message()
    result = await manager.settle_cross_chain(message, "memory")
    assert result.status is BridgeStatus.IN_PROGRESS
    assert result.transaction_hash and result.fee_paid == 1000 + message.gas_limit
    final = await stored_status(manager, result.message_id, COMPLETED)
    assert final.completed_at is not None and final.created_at <= final.completed_at
    record = await manager.store.get(result.message_id)
    assert record is not None and record.prepared.message == message and record.attempts == 1
    assert (await manager.get_settlement_status(result.message_id)).status is COMPLETED


async def test_second_settle_of_same_receipt_returns_the_record(
    open_manager: Any, make_message: Any, chains: MemoryChains
) -> None:
    manager = await open_manager()
    message = make_message()
    first = await manager.settle_cross_chain(message, "memory")
    again = await manager.settle_cross_chain(message, "memory")
    assert again.message_id == first.message_id and chains.sends == 1


async def test_same_receipt_to_another_chain_or_payee_is_a_conflict(
    open_manager: Any, make_message: Any, chains: MemoryChains
) -> None:
    chains.chains.add(3)
    manager = await open_manager()
    message = make_message()
    sent = await manager.settle_cross_chain(message, "memory")
    for change in ({"target_chain_id": 3}, {"recipient": "0x" + "ef" * 20}):
        with pytest.raises(ConflictError, match=sent.message_id) as info:
            await manager.settle_cross_chain(dataclasses.replace(message, **change), "memory")
        assert info.value.code == "already_settled"
    more_gas = dataclasses.replace(message, gas_limit=500_000)
    assert (await manager.settle_cross_chain(more_gas, "memory")).message_id == sent.message_id
    assert chains.sends == 1


async def test_concurrent_settles_send_each_receipt_once(
    open_manager: Any, make_message: Any, chains: MemoryChains
) -> None:
    manager = await open_manager()
    messages = [make_message() for _ in range(3)]
    results = await asyncio.gather(
        *(manager.settle_cross_chain(m, "memory") for m in messages + messages)
    )
    assert chains.sends == 3
    assert len({r.message_id for r in results}) == 3
    for result in results:
        await stored_status(manager, result.message_id, COMPLETED)


async def test_reverting_receiver_fails_then_retry_completes(
    open_manager: Any, make_message: Any, chains: MemoryChains
) -> None:
    manager = await open_manager()
    chains.receiver_reverts = True
    sent = await manager.settle_cross_chain(make_message(), "memory")
    failed = await stored_status(manager, sent.message_id, FAILED)
    assert failed.error_message == "receiver reverted"
    chains.receiver_reverts = False
    retried = await manager.retry(sent.message_id)
    assert retried.status is COMPLETED and retried.error_message is None
    record = await manager.store.get(sent.message_id)
    assert record is not None and record.attempts == 2 and chains.sends == 1


async def test_reverted_retry_is_recorded(
    open_manager: Any, make_message: Any, chains: MemoryChains
) -> None:
    manager = await open_manager()
    chains.receiver_reverts = chains.retry_reverts = True
    sent = await manager.settle_cross_chain(make_message(), "memory")
    await stored_status(manager, sent.message_id, FAILED)
    with pytest.raises(BridgeTransactionError, match="NotAccepting"):
        await manager.retry(sent.message_id)
    record = await manager.store.get(sent.message_id)
    assert record is not None and record.attempts == 2
    assert record.result.error_message is not None and "NotAccepting" in record.result.error_message
    assert record.result.transaction_hash == sent.transaction_hash


async def test_too_little_gas_fails_then_retry_with_more_gas_completes(
    open_manager: Any, make_message: Any, chains: MemoryChains
) -> None:
    manager = await open_manager()
    chains.min_gas = 300_000
    sent = await manager.settle_cross_chain(make_message(), "memory")
    assert (await stored_status(manager, sent.message_id, FAILED)).error_message == "out of gas"
    assert (await manager.retry(sent.message_id)).status is FAILED  # same gas, same end
    assert (await manager.retry(sent.message_id, gas_limit=400_000)).status is COMPLETED


async def test_retry_of_an_in_progress_settlement_is_left_to_the_bridge(
    open_manager: Any, make_message: Any, chains: MemoryChains
) -> None:
    # in progress may mean stuck (a CCIP execution that ran out of gas): the adapter
    # decides; when it has nothing to re-execute, the record is left as it was
    manager = await open_manager()
    chains.drop = True
    sent = await manager.settle_cross_chain(make_message(), "memory")
    with pytest.raises(BridgeTransactionError, match="only a failed delivery"):
        await manager.retry(sent.message_id)
    record = await manager.store.get(sent.message_id)
    assert record is not None and record.result.status is BridgeStatus.IN_PROGRESS
    with pytest.raises(ConfigurationError):
        await manager.retry(sent.message_id, gas_limit=0)


async def test_retry_of_a_completed_settlement_is_refused(
    open_manager: Any, make_message: Any
) -> None:
    manager = await open_manager()
    sent = await manager.settle_cross_chain(make_message(), "memory")
    await stored_status(manager, sent.message_id, COMPLETED)
    with pytest.raises(ConflictError, match="completed") as info:
        await manager.retry(sent.message_id)
    assert info.value.code == "invalid_state"


async def test_reverted_send_is_recorded_and_retry_sends_it(
    open_manager: Any, make_message: Any, chains: MemoryChains
) -> None:
    manager = await open_manager()
    chains.revert_send = True
    message = make_message()
    with pytest.raises(BridgeTransactionError, match="fee too low"):
        await manager.settle_cross_chain(message, "memory")
    record = await manager.store.get_by_receipt(message.receipt_hash)
    assert record is not None and record.result.status is FAILED
    assert record.result.error_message is not None and "fee too low" in record.result.error_message
    chains.revert_send = False
    retried = await manager.retry(record.message_id)
    assert retried.transaction_hash is not None and chains.sends == 1
    await stored_status(manager, record.message_id, COMPLETED)


async def test_dropped_message_refunded_only_after_timeout(
    open_manager: Any, make_message: Any, chains: MemoryChains
) -> None:
    manager = await open_manager()
    chains.drop = True
    sent = await manager.settle_cross_chain(make_message(), "memory")
    with pytest.raises(BridgeTransactionError, match="timeout not reached"):
        await manager.refund(sent.message_id)
    assert (await manager.get_settlement_status(sent.message_id)).status is BridgeStatus.IN_PROGRESS
    chains.refund_timeout_passed = True
    refunded = await manager.refund(sent.message_id)
    assert refunded.status is BridgeStatus.REFUNDED
    assert (await manager.get_settlement_status(sent.message_id)).status is BridgeStatus.REFUNDED
    with pytest.raises(ConflictError, match="nothing to refund"):
        await manager.refund(sent.message_id)


async def test_unknown_message_id(open_manager: Any) -> None:
    manager = await open_manager()
    for call in (manager.get_settlement_status, manager.retry, manager.refund):
        with pytest.raises(NotFoundError) as info:
            await call("0xnope")
        assert info.value.code == "settlement_not_found"


async def test_tracking_survives_an_unreachable_chain(
    open_manager: Any, make_message: Any, chains: MemoryChains
) -> None:
    manager = await open_manager()
    chains.status_unreachable = True
    sent = await manager.settle_cross_chain(make_message(), "memory")
    await asyncio.sleep(0.05)  # several failed polls
    assert sent.message_id in manager._tracker.tracked
    chains.status_unreachable = False
    await stored_status(manager, sent.message_id, COMPLETED)


async def test_estimates_typed_and_as_dict(open_manager: Any, make_message: Any) -> None:
    manager = await open_manager()
    message = make_message()
    typed = await manager.estimate_cost(message)
    assert typed.native_fee == 1000 + message.gas_limit and typed.bridge_name == "memory"
    as_dict = await manager.estimate_settlement_cost(message, "memory")
    assert as_dict == {
        "bridge_name": "memory",
        "native_fee": str(typed.native_fee),
        "token_fee": "0",
        "gas_limit": message.gas_limit,
        "source_chain_id": 1,
        "target_chain_id": 2,
    }
    with pytest.raises(UnsupportedChainError):
        await manager.estimate_cost(make_message(target=77))


async def test_default_bridge_is_first_supporting_both_chains(
    db_path: Any, coordinator_key: Any, make_message: Any
) -> None:
    manager = BridgeManager(db_path, trusted_keys=[coordinator_key.verify_key])
    narrow, wide = (
        MemoryBridge(MemoryChains(chains={1, 3})),
        MemoryBridge(MemoryChains(chains={1, 2, 3})),
    )
    manager.register_adapter("narrow", narrow)
    manager.register_adapter("wide", wide)
    await manager.initialize()
    try:
        assert manager.bridges == ["narrow", "wide"]
        result = await manager.settle_cross_chain(make_message(target=2))
        assert result.bridge_name == "wide" and wide.chains.sends == 1
        result = await manager.settle_cross_chain(make_message(target=3))
        assert result.bridge_name == "narrow" and narrow.chains.sends == 1
        with pytest.raises(UnsupportedChainError, match="no enabled bridge connects"):
            await manager.settle_cross_chain(make_message(target=9))
        with pytest.raises(BridgeNotFoundError, match="'narrow', 'wide'"):
            await manager.settle_cross_chain(make_message(), "hyperlane")
    finally:
        await manager.close()
    assert narrow.closed and wide.closed


async def test_initialize_configures_adapters_and_rejects_unknown_names(
    db_path: Any, chains: MemoryChains
) -> None:
    manager = BridgeManager(db_path)
    bridge = MemoryBridge(chains)
    manager.register_adapter("memory", bridge)
    try:
        with pytest.raises(BridgeNotFoundError) as info:
            await manager.initialize({"memory": {"rpc": "x"}, "nosuch": {}})
        assert "layerzero" in str(info.value) and "ccip" in str(info.value)
        assert bridge.config == {"rpc": "x"}
        await manager.initialize({"memory": {"rpc": "y"}, "nosuch": {"enabled": False}})
        assert manager.bridges == ["memory"] and bridge.config == {
            "rpc": "y",
        }
        with pytest.raises(ConfigurationError):
            await manager.initialize({"memory": "not a mapping"})
    finally:
        await manager.close()


async def test_store_is_required_before_use(chains: MemoryChains, make_message: Any) -> None:
    manager = BridgeManager("unused.db")
    manager.register_adapter("memory", MemoryBridge(chains))
    with pytest.raises(ConfigurationError, match="initialize"):
        await manager.get_settlement_status("0x1")


class _LeakyBridge(MemoryBridge):
    """A plugin that lets a library exception escape."""

    async def get_status(self, prepared: Any) -> Any:
        raise RuntimeError("socket exploded")


async def test_stray_adapter_exceptions_become_settlement_errors(
    db_path: Any, coordinator_key: Any, make_message: Any, chains: MemoryChains
) -> None:
    from aitbc.errors import SettlementError

    manager = BridgeManager(db_path, trusted_keys=[coordinator_key.verify_key])
    manager.register_adapter("leaky", _LeakyBridge(chains))
    await manager.initialize()
    try:
        sent = await manager.settle_cross_chain(make_message(), "leaky")
        with pytest.raises(SettlementError, match="socket exploded") as info:
            await manager.get_settlement_status(sent.message_id)
        assert isinstance(info.value.__cause__, RuntimeError)
    finally:
        await manager.close()


async def test_a_status_poll_that_learns_nothing_writes_nothing(
    open_manager: Any, make_message: Any, chains: MemoryChains
) -> None:
    manager = await open_manager()
    writes: list[str] = []
    update = manager.store.update

    async def counted(record: Any) -> None:
        writes.append(record.result.status.value)
        await update(record)

    manager.store.update = counted  # type: ignore[method-assign]
    chains.drop = True  # stays in progress: every poll sees what the store already has
    sent = await manager.settle_cross_chain(make_message(), "memory")
    stored = await manager.store.get(sent.message_id)
    assert stored is not None and writes == ["in_progress"]
    for _ in range(5):
        seen = await manager.get_settlement_status(sent.message_id)
        assert seen.status is BridgeStatus.IN_PROGRESS
    again = await manager.store.get(sent.message_id)
    assert again is not None and again.result.updated_at == stored.result.updated_at
    assert writes == ["in_progress"]
    chains.drop = False  # delivered: the change is written, once
    await stored_status(manager, sent.message_id, COMPLETED)
    assert writes == ["in_progress", "completed"]
