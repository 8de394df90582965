"""The ``layerzero`` bridge adapter: LayerZero V2 through our source settlement contract.

- estimate: ``EndpointV2.quote(MessagingParams, sender)`` with type-3 options carrying the
  lzReceive gas limit;
- prepare: the message id is the GUID ``keccak256(abi.encodePacked(nonce, srcEid, sender,
  dstEid, receiver))`` with nonce = the endpoint's outbound nonce + 1 for (our source
  contract, dstEid, destination contract). The source contract reverts if the GUID it gets
  differs, so a message never goes out under an id we did not store;
- status: the source contract (pending / acknowledged / refunded), then the destination
  endpoint's ``executable`` view and its ``LzReceiveAlert`` events (a failed lzReceive);
- retry: re-execute the verified payload with ``lzReceive`` (permissionless), more gas
  allowed; refund: the source contract's ``refund`` after the timeout.
"""

from __future__ import annotations

from typing import Any

from aitbc.errors import BridgeTransactionError, UnsupportedChainError

from ._codec import address_to_bytes32, encode_lz_receive_option, encode_settlement_payload, lz_guid
from ._evm import guarded
from ._evm_bridge import ChainHandle, EvmSettlementBridge, escrow_arguments, hex_bytes
from .base import (
    BridgeStatus,
    CostEstimate,
    PreparedSettlement,
    SettlementMessage,
    SettlementResult,
)

EXECUTABLE = 2
EXECUTED = 3
# Gas the executor adds on top of the receiver's lzReceive gas for the endpoint's own work.
EXECUTOR_OVERHEAD = 60_000


class LayerZeroBridge(EvmSettlementBridge):
    """LayerZero V2 adapter (entry point name ``layerzero``)."""

    name = "layerzero"

    def _eid(self, chain: ChainHandle) -> int:
        if chain.lz_eid is None:
            raise UnsupportedChainError(f"layerzero: chain {chain.chain_id} has no endpoint id")
        return chain.lz_eid

    async def estimate_cost(self, message: SettlementMessage) -> CostEstimate:
        """Quote the endpoint fee for ``message`` (nothing is sent)."""
        src, dst, receipt = self.check_message(message)
        payload = encode_settlement_payload(receipt, message.recipient, message.payment_amount, 0)
        options = encode_lz_receive_option(message.gas_limit)
        return await self._quote(src, dst, payload, options, message.gas_limit)

    async def _quote(
        self, src: ChainHandle, dst: ChainHandle, payload: bytes, options: bytes, gas: int
    ) -> CostEstimate:
        params = (
            self._eid(dst),
            address_to_bytes32(dst.destination.address),
            payload,
            options,
            False,
        )
        fee = await guarded(
            "quote",
            src.endpoint.functions.quote(params, src.source.address).call(),
            src.endpoint.abi,
        )
        return CostEstimate(self.name, native_fee=int(fee[0]), token_fee=int(fee[1]), gas_limit=gas)

    async def prepare(self, message: SettlementMessage) -> PreparedSettlement:
        """Fix the GUID, deadline and fee of ``message`` without sending."""
        src, dst, receipt = self.check_message(message)
        src_eid, dst_eid = self._eid(src), self._eid(dst)
        receiver = address_to_bytes32(dst.destination.address)
        nonce = 1 + await guarded(
            "outboundNonce",
            src.endpoint.functions.outboundNonce(src.source.address, dst_eid, receiver).call(),
        )
        guid = lz_guid(nonce, src_eid, address_to_bytes32(src.source.address), dst_eid, receiver)
        deadline = await self.deadline_for(src)
        payload = encode_settlement_payload(
            receipt, message.recipient, message.payment_amount, deadline
        )
        options = encode_lz_receive_option(message.gas_limit)
        fee = await self._quote(src, dst, payload, options, message.gas_limit)
        extra = {
            "nonce": nonce,
            "src_eid": src_eid,
            "dst_eid": dst_eid,
            "deadline": deadline,
            "payload": "0x" + payload.hex(),
            "options": "0x" + options.hex(),
            **await self.block_marks(src, dst),
        }
        return PreparedSettlement("0x" + guid.hex(), message, fee, extra)

    async def send(self, prepared: PreparedSettlement) -> SettlementResult:
        """Escrow the payment and send through the endpoint; raises BridgeTransactionError
        when it reverts (nothing was sent: e.g. the nonce moved, re-prepare)."""
        m, x = prepared.message, prepared.extra
        src, dst, receipt = self.check_message(m)
        options = hex_bytes(x["options"])
        payload = hex_bytes(x["payload"])
        fee = await self._quote(src, dst, payload, options, m.gas_limit)
        call = src.source.functions.settleViaLayerZero(
            *escrow_arguments(prepared, receipt),
            int(x["dst_eid"]),
            address_to_bytes32(dst.destination.address),
            options,
        )
        return await self.send_escrowed(prepared, "settleViaLayerZero", call, fee, src.source.abi)

    async def destination_result(
        self, dst: ChainHandle, prepared: PreparedSettlement, tx_hash: str | None
    ) -> SettlementResult | None:
        """The destination endpoint: executed, or executable with an LzReceiveAlert for it
        (a failed lzReceive)."""
        executable = await guarded("executable", self._executable(dst, prepared))
        if executable == EXECUTED:
            return self.result(prepared, BridgeStatus.COMPLETED, tx_hash)
        if executable == EXECUTABLE:
            reason = await self._last_alert(dst, prepared)
            if reason is not None:
                return self.result(
                    prepared, BridgeStatus.FAILED, tx_hash, f"lzReceive reverted: {reason}"
                )
        return None

    def _origin(self, prepared: PreparedSettlement) -> tuple[int, bytes, int]:
        src = self.chain(prepared.message.source_chain_id)
        x = prepared.extra
        return (int(x["src_eid"]), address_to_bytes32(src.source.address), int(x["nonce"]))

    async def _executable(self, dst: ChainHandle, prepared: PreparedSettlement) -> int:
        call = dst.endpoint.functions.executable(self._origin(prepared), dst.destination.address)
        return int(await call.call())

    async def _last_alert(self, dst: ChainHandle, prepared: PreparedSettlement) -> str | None:
        event = dst.endpoint.events.LzReceiveAlert()
        logs = await guarded(
            "eth_getLogs",
            event.get_logs(
                from_block=int(prepared.extra.get("dst_from_block", 0)),
                argument_filters={"receiver": dst.destination.address},
            ),
        )
        guid = hex_bytes(prepared.message_id)
        reasons = [
            _describe(entry["args"]["reason"], dst)
            for entry in logs
            if bytes(entry["args"]["guid"]) == guid
        ]
        return reasons[-1] if reasons else None

    async def retry(
        self, prepared: PreparedSettlement, gas_limit: int | None = None
    ) -> SettlementResult:
        """Re-execute the verified payload with ``lzReceive``; raises BridgeTransactionError
        when the message is not waiting for execution or the execution reverts again."""
        await self.require_sent(prepared)
        dst = self.chain(prepared.message.target_chain_id)
        if await guarded("executable", self._executable(dst, prepared)) != EXECUTABLE:
            raise BridgeTransactionError(
                f"{prepared.message_id} has no verified payload to re-execute"
            )
        gas = (gas_limit or prepared.message.gas_limit) + EXECUTOR_OVERHEAD
        payload = hex_bytes(prepared.extra["payload"])
        call = dst.endpoint.functions.lzReceive(
            self._origin(prepared),
            dst.destination.address,
            hex_bytes(prepared.message_id),
            payload,
            b"",
        )
        outcome = await dst.sender.transact(
            "lzReceive",
            call,
            gas=gas,
            abi=[*dst.endpoint.abi, *dst.destination.abi],
            receipt_timeout_s=self.receipt_timeout_s,
        )
        result = await self.get_status(prepared)
        result.gas_used = outcome.gas_used
        return result


def _describe(reason: Any, dst: ChainHandle) -> str:
    from ._evm import revert_reason

    data = "0x" + bytes(reason).hex()
    return revert_reason(data, [*dst.endpoint.abi, *dst.destination.abi])
