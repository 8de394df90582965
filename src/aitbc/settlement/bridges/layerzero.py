"""The ``layerzero`` bridge adapter: LayerZero V2 through our settlement contracts.

Only functions of the real EndpointV2 are called (checked against
tests/settlement/fixtures/layerzero_endpoint_v2.json): ``quote`` happens inside our source
contract; the GUID is read from our ``SettlementSent`` event (the endpoint's ``send``
returned it) and the nonce from the endpoint's ``PacketSent`` in the same transaction.
Status uses ``executable`` (NotExecutable / VerifiedButNotExecutable / Executable /
Executed) and ``LzReceiveAlert`` events; retry runs ``lzReceive`` again and, when the path
is blocked by an earlier nonce nobody verified, ``skip``s it with the OApp delegate's key
(the skipped order can then only be cancelled and refunded after its deadline).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from web3.logs import DISCARD

from aitbc.errors import BridgeTransactionError, UnsupportedChainError

from ._codec import address_to_bytes32
from ._evm import TxOutcome, TxSender, guarded, revert_reason
from ._evm_bridge import DST_NONE, ChainHandle, EvmSettlementBridge, SentMessage
from .base import BridgeStatus, PreparedSettlement, SettlementResult

NOT_EXECUTABLE, VERIFIED_NOT_EXECUTABLE, EXECUTABLE, EXECUTED = 0, 1, 2, 3
# Gas the executor adds on top of the receiver's lzReceive gas for the endpoint's own work.
EXECUTOR_OVERHEAD = 60_000
SKIP_GAS = 80_000


class LayerZeroBridge(EvmSettlementBridge):
    """LayerZero V2 adapter (entry point name ``layerzero``)."""

    name = "layerzero"
    bridge_code = 1

    def route(self, chain: ChainHandle) -> int:
        if chain.lz_eid is None:
            raise UnsupportedChainError(f"layerzero: chain {chain.chain_id} has no endpoint id")
        return chain.lz_eid

    def decode_sent(self, src: ChainHandle, logs: Sequence[Any], message_id: bytes) -> Any:
        """(nonce, message) of the PacketSent carrying ``message_id`` (the GUID)."""
        for entry in src.endpoint.events.PacketSent().process_receipt(
            {"logs": logs}, errors=DISCARD
        ):
            raw = bytes(entry["args"]["encodedPayload"])
            if raw[81:113] == message_id:
                return int.from_bytes(raw[1:9], "big"), raw[113:]
        raise BridgeTransactionError("the send transaction has no PacketSent for its GUID")

    def _origin(self, prepared: PreparedSettlement, sent: SentMessage) -> tuple[int, bytes, int]:
        src = self.chain(prepared.message.source_chain_id)
        return (
            int(prepared.extra["source_route"]),
            address_to_bytes32(src.source.address),
            int(sent.packet[0]),
        )

    async def _executable(self, prepared: PreparedSettlement, sent: SentMessage) -> int:
        dst = self.chain(prepared.message.target_chain_id)
        call = dst.endpoint.functions.executable(
            self._origin(prepared, sent), dst.destination.address
        )
        return int(await guarded("executable", call.call()))

    async def bridge_result(
        self, prepared: PreparedSettlement, sent: SentMessage
    ) -> SettlementResult | None:
        state = await self._executable(prepared, sent)
        if state == VERIFIED_NOT_EXECUTABLE:
            # an earlier nonce of the path is not verified yet: it may still come (and the
            # executor runs ours after it), or be lost; retry() skips it with the delegate
            return self.result(
                prepared,
                BridgeStatus.IN_PROGRESS,
                sent.tx_hash,
                "verified but not executable: waiting for an earlier nonce on the path "
                "(retry skips it with the delegate key)",
            )
        if state == EXECUTED:
            if await self.destination_outcome(prepared) != DST_NONE:
                return None  # executed since the outcome was read: the next read sees it
            # consumed without an outcome: cleared or burnt by the delegate
            return self.result(
                prepared,
                BridgeStatus.FAILED,
                sent.tx_hash,
                "cleared without execution: refundable after the deadline",
            )
        if state == EXECUTABLE:
            reason = await self._last_alert(prepared, sent)
            if reason is not None:
                return self.result(
                    prepared, BridgeStatus.FAILED, sent.tx_hash, f"lzReceive reverted: {reason}"
                )
        return None

    async def _last_alert(self, prepared: PreparedSettlement, sent: SentMessage) -> str | None:
        dst = self.chain(prepared.message.target_chain_id)
        logs = await guarded(
            "eth_getLogs",
            dst.endpoint.events.LzReceiveAlert().get_logs(
                from_block=int(prepared.extra.get("dst_from_block", 0)),
                argument_filters={"receiver": dst.destination.address},
            ),
        )
        reasons = [
            revert_reason(
                "0x" + bytes(e["args"]["reason"]).hex(), [*dst.endpoint.abi, *dst.destination.abi]
            )
            for e in logs
            if bytes(e["args"]["guid"]) == sent.message_id
        ]
        return reasons[-1] if reasons else None

    async def reexecute(
        self, prepared: PreparedSettlement, sent: SentMessage, gas_limit: int
    ) -> TxOutcome:
        dst = self.chain(prepared.message.target_chain_id)
        state = await self._executable(prepared, sent)
        if state == VERIFIED_NOT_EXECUTABLE:
            await self._unblock(prepared, sent)
        elif state != EXECUTABLE:
            raise BridgeTransactionError(
                f"{prepared.message_id} has no verified payload to execute"
            )
        call = dst.endpoint.functions.lzReceive(
            self._origin(prepared, sent),
            dst.destination.address,
            sent.message_id,
            sent.packet[1],
            b"",
        )
        return await dst.sender.transact(
            "lzReceive",
            call,
            gas=gas_limit + EXECUTOR_OVERHEAD,
            abi=[*dst.endpoint.abi, *dst.destination.abi],
            receipt_timeout_s=self.receipt_timeout_s,
        )

    async def after_cancel(self, prepared: PreparedSettlement) -> None:
        """A cancelled order whose packet was never verified (lost) would block the path
        for every later order: skip it with the delegate key, when we have it."""
        sent = await self.sent_message(prepared)
        if sent is None or self.delegate_key is None:
            return
        if await self._executable(prepared, sent) == NOT_EXECUTABLE:
            await self._unblock(prepared, sent, include_own=True)

    async def _unblock(
        self, prepared: PreparedSettlement, sent: SentMessage, *, include_own: bool = False
    ) -> None:
        """Skip every unverified nonce before ours (the delegate's job on the real endpoint),
        and ours too with ``include_own`` (a cancelled order that can never be paid)."""
        if self.delegate_key is None:
            raise BridgeTransactionError(
                f"{prepared.message_id}: the path is blocked by an unverified earlier nonce; "
                "the OApp delegate must skip it (configure delegate_key)"
            )
        dst = self.chain(prepared.message.target_chain_id)
        delegate = TxSender(dst.w3, self.delegate_key, dst.chain_id)
        src_eid, sender, nonce = self._origin(prepared, sent)
        oapp = dst.destination.address
        target = nonce if include_own else nonce - 1
        while True:
            call = dst.endpoint.functions.inboundNonce(oapp, src_eid, sender)
            inbound = int(await guarded("inboundNonce", call.call()))
            if inbound >= target:
                return
            skip = dst.endpoint.functions.skip(oapp, src_eid, sender, inbound + 1)
            await delegate.transact("skip", skip, gas=SKIP_GAS, abi=dst.endpoint.abi)


__all__ = ["LayerZeroBridge"]
