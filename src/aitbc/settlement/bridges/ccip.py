"""The ``ccip`` adapter (alias ``chainlink``): Chainlink CCIP through our settlement contracts.

Only functions of the real Router and EVM2EVMOffRamp (v1.5) are called (checked against
tests/settlement/fixtures/ccip_*.json): ``getFee``/``ccipSend`` happen inside our source
contract, and the message id is the one ``ccipSend`` returned (recorded in our
``SettlementSent`` event) — never predicted. The sequence number and the whole message
come from the OnRamp's ``CCIPSendRequested`` in the send transaction. On the destination,
the Router's ``getOffRamps`` names the OffRamp of the lane; status reads its
``getExecutionState(sequenceNumber)``, retry calls its ``manuallyExecute`` with a receiver
gas override — also for a committed message whose execution transaction ran out of gas
(still UNTOUCHED).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from web3.contract import AsyncContract
from web3.logs import DISCARD

from aitbc.contracts import load_artifact
from aitbc.errors import BridgeTransactionError, UnsupportedChainError

from ._evm import TxOutcome, guarded, revert_reason
from ._evm_bridge import ChainHandle, EvmSettlementBridge, SentMessage
from .base import BridgeStatus, PreparedSettlement, SettlementResult

UNTOUCHED, IN_PROGRESS, SUCCESS, FAILURE = 0, 1, 2, 3
# Gas for the OffRamp's and Router's own work around the receiver call (it insists on
# the full limit being available).
EXECUTE_OVERHEAD = 120_000
#: The fields of CCIP's ``Internal.EVM2EVMMessage``, in ABI order (shared with the devnet).
EVM2EVM_FIELDS = (
    "sourceChainSelector",
    "sender",
    "receiver",
    "sequenceNumber",
    "gasLimit",
    "strict",
    "nonce",
    "feeToken",
    "feeTokenAmount",
    "data",
    "tokenAmounts",
    "sourceTokenData",
    "messageId",
)


class CCIPBridge(EvmSettlementBridge):
    """Chainlink CCIP adapter (entry point names ``ccip`` and ``chainlink``)."""

    name = "ccip"
    bridge_code = 2

    def __init__(self) -> None:
        super().__init__()
        self._off_ramps: dict[tuple[int, int], AsyncContract] = {}

    def route(self, chain: ChainHandle) -> int:
        if chain.ccip_selector is None:
            raise UnsupportedChainError(f"ccip: chain {chain.chain_id} has no chain selector")
        return chain.ccip_selector

    def decode_sent(self, src: ChainHandle, logs: Sequence[Any], message_id: bytes) -> Any:
        """The EVM2EVMMessage (as a call tuple) that ``CCIPSendRequested`` carried."""
        for entry in src.router.events.CCIPSendRequested().process_receipt(
            {"logs": logs}, errors=DISCARD
        ):
            m = entry["args"]["message"]
            if bytes(m["messageId"]) == message_id:
                values = [m[name] for name in EVM2EVM_FIELDS]
                values[10] = [(t["token"], t["amount"]) for t in values[10]]
                return tuple(values)
        raise BridgeTransactionError("the send transaction has no CCIPSendRequested for its id")

    async def _off_ramp(self, prepared: PreparedSettlement) -> AsyncContract:
        dst = self.chain(prepared.message.target_chain_id)
        source_selector = int(prepared.extra["source_route"])
        key = (dst.chain_id, source_selector)
        if key not in self._off_ramps:
            ramps = await guarded("getOffRamps", dst.router.functions.getOffRamps().call())
            found = [address for selector, address in ramps if int(selector) == source_selector]
            if not found:
                raise BridgeTransactionError(
                    f"ccip: chain {dst.chain_id} has no OffRamp for selector {source_selector}"
                )
            abi = load_artifact("MockCCIPOffRamp").abi
            self._off_ramps[key] = dst.w3.eth.contract(address=found[-1], abi=abi)
        return self._off_ramps[key]

    async def _state(self, prepared: PreparedSettlement, sent: SentMessage) -> int:
        ramp = await self._off_ramp(prepared)
        call = ramp.functions.getExecutionState(int(sent.packet[3]))
        return int(await guarded("getExecutionState", call.call()))

    async def bridge_result(
        self, prepared: PreparedSettlement, sent: SentMessage
    ) -> SettlementResult | None:
        if await self._state(prepared, sent) != FAILURE:
            return None
        reason = await self._failure_reason(prepared, sent)
        return self.result(
            prepared, BridgeStatus.FAILED, sent.tx_hash, f"ccipReceive failed: {reason}"
        )

    async def _failure_reason(self, prepared: PreparedSettlement, sent: SentMessage) -> str:
        ramp = await self._off_ramp(prepared)
        logs = await guarded(
            "eth_getLogs",
            ramp.events.ExecutionStateChanged().get_logs(
                from_block=int(prepared.extra.get("dst_from_block", 0)),
                argument_filters={"sequenceNumber": int(sent.packet[3])},
            ),
        )
        if not logs:
            return "unknown"
        data = bytes(logs[-1]["args"]["returnData"])
        dst = self.chain(prepared.message.target_chain_id)
        return (
            revert_reason("0x" + data.hex(), dst.destination.abi)
            if data
            else "out of gas or empty revert"
        )

    async def reexecute(
        self, prepared: PreparedSettlement, sent: SentMessage, gas_limit: int
    ) -> TxOutcome:
        state = await self._state(prepared, sent)
        if state not in (FAILURE, UNTOUCHED):
            raise BridgeTransactionError(
                f"{prepared.message_id} is not re-executable (state {state})"
            )
        ramp = await self._off_ramp(prepared)
        dst = self.chain(prepared.message.target_chain_id)
        report: tuple[Any, ...] = ([sent.packet], [[]], [], 0)
        call = ramp.functions.manuallyExecute(report, [(gas_limit, [])])
        return await dst.sender.transact(
            "manuallyExecute",
            call,
            gas=gas_limit + gas_limit // 63 + EXECUTE_OVERHEAD,
            abi=[*ramp.abi, *dst.router.abi],
            receipt_timeout_s=self.receipt_timeout_s,
        )
