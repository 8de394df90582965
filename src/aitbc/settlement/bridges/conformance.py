"""The bridge adapter conformance suite: one set of checks every adapter must pass.

A plugin author provides a ``ConformanceHarness`` for an environment where their bridge
runs (our devnet's is ``aitbc.devnet.harness.DevnetHarness``) and runs every check::

    for check in CHECKS:
        await check(harness)

Each check drives the adapter through the public BridgeAdapter interface only and raises
``ConformanceFailure`` (an AssertionError) saying what went wrong.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, Protocol

from aitbc.errors import (
    AITBCError,
    BridgeTransactionError,
    SettlementValidationError,
    UnsupportedChainError,
)

from .base import (
    BridgeAdapter,
    BridgeStatus,
    PreparedSettlement,
    SettlementMessage,
    SettlementResult,
)

POLL_S = 0.1
DEFAULT_WAIT_S = 30.0


class ConformanceFailure(AssertionError):
    """An adapter broke the BridgeAdapter contract."""


class ConformanceHarness(Protocol):
    """The environment a check runs in: a source and target chain and a relayer it can steer."""

    bridge_name: str

    async def new_adapter(self, **overrides: Any) -> BridgeAdapter:
        """An initialized adapter (``overrides`` merged into its config); caller closes it."""

    async def message(
        self, *, gas_limit: int = 200_000, accepting: bool = True, receipt_hash: str | None = None
    ) -> SettlementMessage:
        """A fresh message paying a new recipient (which refuses payments unless ``accepting``)."""

    async def set_accepting(self, message: SettlementMessage, accepting: bool) -> None:
        """Switch the message's recipient to accept (or refuse) payments."""

    async def recipient_balance(self, message: SettlementMessage) -> int:
        """The recipient's balance on the target chain."""

    def inject(self, action: str, message_id: str) -> None:
        """Make the relayer ``drop`` / ``duplicate`` / ... the message ``message_id``."""

    def rejected_deliveries(self, message_id: str) -> int:
        """How many delivery transactions for ``message_id`` reverted on chain."""

    def executions(self, message_id: str) -> int:
        """How many times the relayer tried to execute ``message_id`` on the target."""

    async def advance_time(self, chain_id: int, seconds: int) -> None:
        """Move ``chain_id``'s clock forward (and mine a block)."""


def _expect(condition: bool, what: str) -> None:
    if not condition:
        raise ConformanceFailure(what)


async def wait_for_status(
    adapter: BridgeAdapter,
    prepared: PreparedSettlement,
    wanted: set[BridgeStatus],
    timeout_s: float = DEFAULT_WAIT_S,
) -> SettlementResult:
    """Poll ``get_status`` until it reports one of ``wanted``; ConformanceFailure on timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        result = await adapter.get_status(prepared)
        if result.status in wanted:
            return result
        if loop.time() > deadline:
            raise ConformanceFailure(
                f"{prepared.message_id} stuck at {result.status} (wanted {wanted})"
            )
        await asyncio.sleep(POLL_S)


async def _send(adapter: BridgeAdapter, message: SettlementMessage) -> PreparedSettlement:
    prepared = await adapter.prepare(message)
    sent = await adapter.send(prepared)
    _expect(sent.message_id == prepared.message_id, "send() used another id than prepare()")
    _expect(sent.transaction_hash is not None, "send() reported no transaction hash")
    return prepared


async def check_prepare_has_no_side_effects(h: ConformanceHarness) -> None:
    """prepare() twice gives the same id and fee, and the chain has not seen the message."""
    adapter = await h.new_adapter()
    try:
        message = await h.message()
        first, second = await adapter.prepare(message), await adapter.prepare(message)
        _expect(first.message_id == second.message_id, "prepare() is not deterministic")
        _expect(first.fee == second.fee, "prepare() quotes differ")
        status = await adapter.get_status(first)
        _expect(
            status.status is BridgeStatus.PENDING and status.transaction_hash is None,
            f"an unsent message must read PENDING without tx hash, got {status}",
        )
        estimate = await adapter.estimate_cost(message)
        _expect(
            estimate.native_fee > 0 and estimate.bridge_name == adapter.name,
            f"bad estimate {estimate}",
        )
    finally:
        await adapter.close()


async def check_settlement_completes(h: ConformanceHarness) -> None:
    """A message is delivered, the recipient is paid, the status ends COMPLETED."""
    adapter = await h.new_adapter()
    try:
        message = await h.message()
        prepared = await _send(adapter, message)
        result = await wait_for_status(adapter, prepared, {BridgeStatus.COMPLETED})
        _expect(result.error_message is None, f"completed with an error: {result.error_message}")
        _expect(
            await h.recipient_balance(message) == message.payment_amount,
            "recipient not paid exactly once",
        )
    finally:
        await adapter.close()


async def check_reverting_receiver_then_retry(h: ConformanceHarness) -> None:
    """A reverting receiver leaves the message FAILED; once it accepts, retry completes it."""
    adapter = await h.new_adapter()
    try:
        message = await h.message(accepting=False)
        prepared = await _send(adapter, message)
        failed = await wait_for_status(adapter, prepared, {BridgeStatus.FAILED})
        _expect(bool(failed.error_message), "a FAILED status must say why")
        await h.set_accepting(message, True)
        await adapter.retry(prepared)
        await wait_for_status(adapter, prepared, {BridgeStatus.COMPLETED})
        _expect(
            await h.recipient_balance(message) == message.payment_amount,
            "recipient not paid after retry",
        )
    finally:
        await adapter.close()


async def check_low_gas_then_retry_with_more(h: ConformanceHarness) -> None:
    """Too little gas fails the delivery; retry with more gas completes it."""
    adapter = await h.new_adapter()
    try:
        message = await h.message(gas_limit=1_000)
        prepared = await _send(adapter, message)
        await wait_for_status(adapter, prepared, {BridgeStatus.FAILED})
        await adapter.retry(prepared, gas_limit=300_000)
        await wait_for_status(adapter, prepared, {BridgeStatus.COMPLETED})
    finally:
        await adapter.close()


async def check_dropped_message_is_refunded(h: ConformanceHarness) -> None:
    """A dropped message cannot be refunded before its deadline (destination time), can
    after it, and only once; the refund arrives through the bridge."""
    adapter = await h.new_adapter(refund_timeout_s=60)
    try:
        message = await h.message()
        prepared = await adapter.prepare(message)
        h.inject("drop", prepared.message_id)
        await adapter.send(prepared)
        await _expect_refusal(adapter.refund(prepared), "refund before the deadline")
        # only the destination's clock counts: moving the source's changes nothing
        await h.advance_time(message.source_chain_id, 600)
        await _expect_refusal(adapter.refund(prepared), "refund on the source's clock")
        await h.advance_time(message.target_chain_id, 180)
        expired = await adapter.get_status(prepared)
        _expect(
            expired.status is BridgeStatus.FAILED and bool(expired.error_message),
            f"an undelivered message past its deadline must read FAILED, got {expired}",
        )
        refunding = await adapter.refund(prepared)
        _expect(
            refunding.status in (BridgeStatus.IN_PROGRESS, BridgeStatus.REFUNDED),
            f"refund() returned {refunding.status}",
        )
        await wait_for_status(adapter, prepared, {BridgeStatus.REFUNDED})
        await _expect_refusal(adapter.refund(prepared), "a second refund")
        _expect(await h.recipient_balance(message) == 0, "a refunded message paid the recipient")
    finally:
        await adapter.close()


async def check_delivered_message_is_not_refundable(h: ConformanceHarness) -> None:
    """Once paid on the destination, the escrow can never be refunded, at any time."""
    adapter = await h.new_adapter(refund_timeout_s=60)
    try:
        message = await h.message()
        prepared = await _send(adapter, message)
        await wait_for_status(adapter, prepared, {BridgeStatus.COMPLETED})
        await h.advance_time(message.target_chain_id, 180)
        await _expect_refusal(adapter.refund(prepared), "refunding a delivered message")
        _expect(await h.recipient_balance(message) == message.payment_amount, "not paid once")
    finally:
        await adapter.close()


async def check_duplicate_delivery_rejected(h: ConformanceHarness) -> None:
    """A delivery the relayer repeats changes nothing: the recipient is paid once."""
    adapter = await h.new_adapter()
    try:
        message = await h.message()
        prepared = await adapter.prepare(message)
        h.inject("duplicate", prepared.message_id)
        await adapter.send(prepared)
        await wait_for_status(adapter, prepared, {BridgeStatus.COMPLETED})
        for _ in range(int(DEFAULT_WAIT_S / POLL_S)):
            if h.executions(prepared.message_id) >= 2:
                break
            await asyncio.sleep(POLL_S)
        _expect(h.executions(prepared.message_id) >= 2, "the duplicate was never delivered")
        _expect(await h.recipient_balance(message) == message.payment_amount, "paid more than once")
    finally:
        await adapter.close()


async def check_same_receipt_settles_once(h: ConformanceHarness) -> None:
    """A second settlement of one receipt by the same payer is refused before anything
    goes out, while the first is open or paid."""
    adapter = await h.new_adapter()
    try:
        first_message = await h.message()
        first = await _send(adapter, first_message)
        await wait_for_status(adapter, first, {BridgeStatus.COMPLETED})
        second_message = replace(first_message, nonce=first_message.nonce + 1, gas_limit=210_000)
        second = await adapter.prepare(second_message)
        await _expect_refusal(adapter.send(second), "settling one receipt twice")
        _expect(
            await h.recipient_balance(first_message) == first_message.payment_amount,
            "the receipt was paid twice",
        )
    finally:
        await adapter.close()


async def check_prepared_messages_send_in_any_order(h: ConformanceHarness) -> None:
    """Ids do not depend on the bridge's nonces: messages prepared together can be sent in
    any order, and each completes under the id it was prepared with."""
    adapter = await h.new_adapter()
    try:
        first, second = await h.message(), await h.message()
        prepared_first, prepared_second = (
            await adapter.prepare(first),
            await adapter.prepare(second),
        )
        _expect(prepared_first.message_id != prepared_second.message_id, "two messages, one id")
        for prepared in (prepared_second, prepared_first):
            sent = await adapter.send(prepared)
            _expect(sent.message_id == prepared.message_id, "send() changed the id")
        for prepared in (prepared_first, prepared_second):
            await wait_for_status(adapter, prepared, {BridgeStatus.COMPLETED})
    finally:
        await adapter.close()


async def check_bad_input_is_refused(h: ConformanceHarness) -> None:
    """Unknown chains and malformed messages raise the settlement errors, sending nothing."""
    adapter = await h.new_adapter()
    try:
        message = await h.message()
        for bad, error in (
            (replace(message, target_chain_id=999_999_999), UnsupportedChainError),
            (replace(message, receipt_hash="md5:abc"), SettlementValidationError),
            (replace(message, payment_amount=0), SettlementValidationError),
            (replace(message, recipient="not-an-address"), SettlementValidationError),
        ):
            try:
                await adapter.prepare(bad)
            except error:
                continue
            raise ConformanceFailure(f"prepare() accepted {bad}")
    finally:
        await adapter.close()


async def _expect_refusal(call: Awaitable[Any], what: str) -> None:
    try:
        await call
    except BridgeTransactionError:
        return
    except AITBCError as exc:
        raise ConformanceFailure(f"{what}: expected BridgeTransactionError, got {exc!r}") from exc
    raise ConformanceFailure(f"{what} was allowed")


Check = Callable[[ConformanceHarness], Awaitable[None]]

CHECKS: tuple[Check, ...] = (
    check_prepare_has_no_side_effects,
    check_bad_input_is_refused,
    check_prepared_messages_send_in_any_order,
    check_settlement_completes,
    check_reverting_receiver_then_retry,
    check_low_gas_then_retry_with_more,
    check_dropped_message_is_refunded,
    check_delivered_message_is_not_refundable,
    check_duplicate_delivery_rejected,
    check_same_receipt_settles_once,
)
