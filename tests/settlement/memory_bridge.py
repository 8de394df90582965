"""A real BridgeAdapter over an in-memory "chain pair", for manager and store tests.

The chain state (:class:`MemoryChains`) lives outside the adapter, so a test can close a
manager, build a new adapter on the same chains and see what a restarted process sees.
Faults are switches on the chain state, like the devnet relayer's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aitbc.errors import BridgeTransactionError, ConnectError, TransportTimeout
from aitbc.settlement.bridges.base import (
    BridgeAdapter,
    BridgeStatus,
    CostEstimate,
    PreparedSettlement,
    SettlementMessage,
    SettlementResult,
)


class ProcessDied(BaseException):
    """Stands for the process being killed mid-call (nothing catches it)."""


@dataclass
class Packet:
    prepared: PreparedSettlement
    tx_hash: str
    status: BridgeStatus = BridgeStatus.IN_PROGRESS
    polls: int = 0
    error: str | None = None


@dataclass
class MemoryChains:
    """Two (or more) chains and the packets in flight between them."""

    chains: set[int] = field(default_factory=lambda: {1, 2})
    nonce: int = 0
    packets: dict[str, Packet] = field(default_factory=dict)
    sends: int = 0
    polls_to_deliver: int = 1
    min_gas: int = 0  # deliveries with less gas fail
    receiver_reverts: bool = False
    drop: bool = False  # the relayer never delivers
    revert_send: bool = False
    die_before_send: bool = False
    die_after_send: bool = False
    status_unreachable: bool = False
    refund_timeout_passed: bool = False
    retry_reverts: bool = False  # re-execution transactions revert
    send_times_out: int = 0  # this many sends time out (unknown outcome) ...
    timeout_after_landing: bool = False  # ... after the transaction was mined


class MemoryBridge(BridgeAdapter):
    """Ids are derived from the next nonce (like LayerZero's GUID), so prepare is pure."""

    name = "memory"

    def __init__(self, chains: MemoryChains | None = None) -> None:
        self.chains = chains or MemoryChains()
        self.config: dict[str, Any] = {}
        self.closed = False

    async def initialize(self, config: Mapping[str, Any]) -> None:
        self.config = dict(config)

    def supported_chains(self) -> set[int]:
        return set(self.chains.chains)

    async def estimate_cost(self, message: SettlementMessage) -> CostEstimate:
        return CostEstimate(
            self.name, native_fee=1000 + message.gas_limit, gas_limit=message.gas_limit
        )

    async def prepare(self, message: SettlementMessage) -> PreparedSettlement:
        nonce = self.chains.nonce + 1
        digest = hashlib.sha256(f"{nonce}:{message.receipt_hash}".encode()).hexdigest()
        fee = await self.estimate_cost(message)
        return PreparedSettlement("0x" + digest, message, fee, {"nonce": nonce})

    async def send(self, prepared: PreparedSettlement) -> SettlementResult:
        chains = self.chains
        if chains.die_before_send:
            raise ProcessDied
        if chains.send_times_out and not chains.timeout_after_landing:
            chains.send_times_out -= 1
            raise TransportTimeout("RPC timed out waiting for the transaction")
        if chains.revert_send:
            raise BridgeTransactionError("execution reverted: fee too low")
        if prepared.extra["nonce"] != chains.nonce + 1:
            raise BridgeTransactionError("stale nonce")
        chains.nonce += 1
        chains.sends += 1
        tx = "0x" + hashlib.sha256(f"tx{chains.sends}".encode()).hexdigest()
        chains.packets[prepared.message_id] = Packet(prepared, tx)
        if chains.die_after_send:
            raise ProcessDied
        if chains.send_times_out and chains.timeout_after_landing:
            chains.send_times_out -= 1
            raise TransportTimeout("RPC timed out waiting for the receipt")
        return self._result(chains.packets[prepared.message_id])

    def _result(self, packet: Packet) -> SettlementResult:
        return SettlementResult(
            packet.prepared.message_id,
            packet.status,
            self.name,
            transaction_hash=packet.tx_hash,
            error_message=packet.error,
            fee_paid=packet.prepared.fee.native_fee,
        )

    async def get_status(self, prepared: PreparedSettlement) -> SettlementResult:
        if self.chains.status_unreachable:
            raise ConnectError("chain RPC unreachable")
        packet = self.chains.packets.get(prepared.message_id)
        if packet is None:
            return SettlementResult(prepared.message_id, BridgeStatus.PENDING, self.name)
        if packet.status is BridgeStatus.IN_PROGRESS and not self.chains.drop:
            packet.polls += 1
            if packet.polls >= self.chains.polls_to_deliver:
                self._deliver(packet, prepared.message.gas_limit)
        return self._result(packet)

    def _deliver(self, packet: Packet, gas_limit: int) -> None:
        if self.chains.receiver_reverts:
            packet.status, packet.error = BridgeStatus.FAILED, "receiver reverted"
        elif gas_limit < self.chains.min_gas:
            packet.status, packet.error = BridgeStatus.FAILED, "out of gas"
        else:
            packet.status, packet.error = BridgeStatus.COMPLETED, None

    async def retry(
        self, prepared: PreparedSettlement, gas_limit: int | None = None
    ) -> SettlementResult:
        packet = self.chains.packets.get(prepared.message_id)
        if packet is None or packet.status is not BridgeStatus.FAILED:
            raise BridgeTransactionError("only a failed delivery can be re-executed")
        if self.chains.retry_reverts:
            raise BridgeTransactionError("lzReceive reverted: NotAccepting()")
        self._deliver(packet, gas_limit or prepared.message.gas_limit)
        return self._result(packet)

    async def refund(self, prepared: PreparedSettlement) -> SettlementResult:
        packet = self.chains.packets.get(prepared.message_id)
        if packet is None or packet.status is BridgeStatus.COMPLETED:
            raise BridgeTransactionError("nothing to refund")
        if not self.chains.refund_timeout_passed:
            raise BridgeTransactionError("execution reverted: timeout not reached")
        packet.status, packet.error = BridgeStatus.REFUNDED, None
        return self._result(packet)

    async def close(self) -> None:
        self.closed = True
