"""The ``ccip`` adapter (alias ``chainlink``): Chainlink CCIP through our source contract.

- estimate: ``Router.getFee(destSelector, EVM2AnyMessage)`` with GenericExtraArgsV2
  (tag 0x181dcf10: gasLimit, allowOutOfOrderExecution);
- prepare: the message id is computed before sending with the router's documented
  formula (``_codec.ccip_message_id``: source/dest selectors, the router's next sequence
  number for the destination, sender, receiver, data, gas limit) and cross-checked with the
  router's ``previewMessageId`` view; the source contract reverts if the router assigns
  another id (the sequence number moved), so nothing goes out under an unstored id;
- status: the source contract, then the destination router's execution state
  (UNTOUCHED / IN_PROGRESS / SUCCESS / FAILURE);
- retry: ``manuallyExecute`` with a gas override; refund: the source contract's ``refund``.
"""

from __future__ import annotations

from eth_abi.abi import encode

from aitbc.errors import BridgeTransactionError, UnsupportedChainError

from ._codec import ccip_message_id, encode_generic_extra_args_v2, encode_settlement_payload
from ._evm import guarded, revert_reason
from ._evm_bridge import ChainHandle, EvmSettlementBridge, escrow_arguments, hex_bytes
from .base import (
    BridgeStatus,
    CostEstimate,
    PreparedSettlement,
    SettlementMessage,
    SettlementResult,
)

UNTOUCHED, IN_PROGRESS, SUCCESS, FAILURE = 0, 1, 2, 3
# Gas for the router's own work around the receiver call (it insists on the full limit).
EXECUTE_OVERHEAD = 120_000


class CCIPBridge(EvmSettlementBridge):
    """Chainlink CCIP adapter (entry point names ``ccip`` and ``chainlink``)."""

    name = "ccip"
    allow_out_of_order = True

    def _selector(self, chain: ChainHandle) -> int:
        if chain.ccip_selector is None:
            raise UnsupportedChainError(f"ccip: chain {chain.chain_id} has no chain selector")
        return chain.ccip_selector

    def _message(
        self, dst: ChainHandle, payload: bytes, gas_limit: int
    ) -> tuple[bytes, bytes, list[object], str, bytes]:
        receiver = encode(["address"], [dst.destination.address])
        extra_args = encode_generic_extra_args_v2(gas_limit, self.allow_out_of_order)
        return (receiver, payload, [], "0x" + "00" * 20, extra_args)

    async def _fee(
        self, src: ChainHandle, dst: ChainHandle, payload: bytes, gas_limit: int
    ) -> CostEstimate:
        message = self._message(dst, payload, gas_limit)
        fee = await guarded(
            "getFee",
            src.router.functions.getFee(self._selector(dst), message).call(),
            src.router.abi,
        )
        return CostEstimate(self.name, native_fee=int(fee), gas_limit=gas_limit)

    async def estimate_cost(self, message: SettlementMessage) -> CostEstimate:
        """Quote the router fee for ``message`` (nothing is sent)."""
        src, dst, receipt = self.check_message(message)
        payload = encode_settlement_payload(receipt, message.recipient, message.payment_amount, 0)
        return await self._fee(src, dst, payload, message.gas_limit)

    async def prepare(self, message: SettlementMessage) -> PreparedSettlement:
        """Fix the message id, deadline and fee of ``message`` without sending."""
        src, dst, receipt = self.check_message(message)
        deadline = await self.deadline_for(src)
        payload = encode_settlement_payload(
            receipt, message.recipient, message.payment_amount, deadline
        )
        dst_selector = self._selector(dst)
        sequence = 1 + await guarded(
            "outboundSequenceNumber",
            src.router.functions.outboundSequenceNumber(dst_selector).call(),
        )
        rx, data, _, _, _ = self._message(dst, payload, message.gas_limit)
        message_id = ccip_message_id(
            self._selector(src),
            dst_selector,
            sequence,
            src.source.address,
            rx,
            data,
            message.gas_limit,
        )
        await self._cross_check(src, dst, payload, message.gas_limit, message_id)
        fee = await self._fee(src, dst, payload, message.gas_limit)
        extra = {
            "sequence_number": sequence,
            "dst_selector": dst_selector,
            "deadline": deadline,
            "payload": "0x" + payload.hex(),
            **await self.block_marks(src, dst),
        }
        return PreparedSettlement("0x" + message_id.hex(), message, fee, extra)

    async def _cross_check(
        self, src: ChainHandle, dst: ChainHandle, payload: bytes, gas: int, expected: bytes
    ) -> None:
        # The router's own view must agree with our formula; if not, this is not our router.
        preview = src.router.functions.previewMessageId(
            self._selector(dst), src.source.address, self._message(dst, payload, gas)
        )
        actual = bytes(await guarded("previewMessageId", preview.call()))
        if actual != expected:
            raise BridgeTransactionError("the router's message id formula differs from ours")

    async def send(self, prepared: PreparedSettlement) -> SettlementResult:
        """Escrow the payment and ``ccipSend`` it; raises BridgeTransactionError on revert."""
        m, x = prepared.message, prepared.extra
        src, dst, receipt = self.check_message(m)
        payload = hex_bytes(x["payload"])
        fee = await self._fee(src, dst, payload, m.gas_limit)
        extra_args = encode_generic_extra_args_v2(m.gas_limit, self.allow_out_of_order)
        call = src.source.functions.settleViaCcip(
            *escrow_arguments(prepared, receipt),
            int(x["dst_selector"]),
            dst.destination.address,
            extra_args,
        )
        abi = [*src.source.abi, *src.router.abi]
        return await self.send_escrowed(prepared, "settleViaCcip", call, fee, abi)

    async def destination_result(
        self, dst: ChainHandle, prepared: PreparedSettlement, tx_hash: str | None
    ) -> SettlementResult | None:
        """The destination router's execution state: SUCCESS or FAILURE (with why)."""
        execution = await self._execution_state(dst, prepared)
        if execution == SUCCESS:
            return self.result(prepared, BridgeStatus.COMPLETED, tx_hash)
        if execution == FAILURE:
            reason = await self._failure_reason(dst, prepared)
            return self.result(
                prepared, BridgeStatus.FAILED, tx_hash, f"ccipReceive failed: {reason}"
            )
        return None

    async def _execution_state(self, dst: ChainHandle, prepared: PreparedSettlement) -> int:
        call = dst.router.functions.getExecutionState(hex_bytes(prepared.message_id))
        return int(await guarded("getExecutionState", call.call()))

    async def _failure_reason(self, dst: ChainHandle, prepared: PreparedSettlement) -> str:
        event = dst.router.events.ExecutionStateChanged()
        logs = await guarded(
            "eth_getLogs",
            event.get_logs(
                from_block=int(prepared.extra.get("dst_from_block", 0)),
                argument_filters={"messageId": hex_bytes(prepared.message_id)},
            ),
        )
        if not logs:
            return "unknown"
        data = bytes(logs[-1]["args"]["returnData"])
        return (
            revert_reason("0x" + data.hex(), dst.destination.abi)
            if data
            else "out of gas or empty revert"
        )

    async def retry(
        self, prepared: PreparedSettlement, gas_limit: int | None = None
    ) -> SettlementResult:
        """``manuallyExecute`` a failed (or never executed) message, with ``gas_limit`` if
        given; raises BridgeTransactionError when it is not re-executable."""
        await self.require_sent(prepared)
        dst = self.chain(prepared.message.target_chain_id)
        execution = await self._execution_state(dst, prepared)
        if execution not in (FAILURE, UNTOUCHED):
            raise BridgeTransactionError(
                f"{prepared.message_id} is not re-executable (state {execution})"
            )
        limit = max(gas_limit or 0, prepared.message.gas_limit)
        call = dst.router.functions.manuallyExecute(hex_bytes(prepared.message_id), limit)
        outcome = await dst.sender.transact(
            "manuallyExecute",
            call,
            gas=limit + limit // 63 + EXECUTE_OVERHEAD,
            abi=dst.router.abi,
            receipt_timeout_s=self.receipt_timeout_s,
        )
        result = await self.get_status(prepared)
        if result.status is BridgeStatus.FAILED:
            raise BridgeTransactionError(
                f"manual execution of {prepared.message_id} failed again: {result.error_message}"
            )
        result.gas_used = outcome.gas_used
        return result
