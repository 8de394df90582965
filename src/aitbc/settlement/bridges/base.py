"""Settlement messages, results and the interface every bridge adapter implements."""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


class BridgeStatus(enum.Enum):
    """Where a settlement stands. ``completed``, ``refunded`` are final; ``failed`` can
    be retried (or refunded once the source contract's timeout passed)."""

    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    REFUNDED = "refunded"

    @property
    def is_final(self) -> bool:
        return self in (BridgeStatus.COMPLETED, BridgeStatus.REFUNDED)


@dataclass(frozen=True)
class SettlementMessage:
    """What one settlement carries from the source chain to the target chain.

    ``payment_amount`` is in base units of ``payment_token`` (``"native"`` or a token
    address). ``receipt_hash`` is the ``sha256:`` content hash of the job's receipt;
    ``signature`` is the coordinator's receipt signature object, kept as proof.
    """

    source_chain_id: int
    target_chain_id: int
    job_id: str
    receipt_hash: str
    payment_amount: int
    recipient: str
    payment_token: str = "native"
    proof_data: Mapping[str, Any] = field(default_factory=dict)
    nonce: int = 0
    signature: Mapping[str, Any] = field(default_factory=dict)
    gas_limit: int = 200_000


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class SettlementResult:
    """The state of one settlement as its bridge and store know it."""

    message_id: str
    status: BridgeStatus
    bridge_name: str = ""
    transaction_hash: str | None = None
    error_message: str | None = None
    gas_used: int | None = None
    fee_paid: int | None = None
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime = field(default_factory=_now)
    completed_at: datetime | None = None


@dataclass(frozen=True)
class CostEstimate:
    """A bridge's quote for one message, in the source chain's native base units."""

    bridge_name: str
    native_fee: int
    token_fee: int = 0
    gas_limit: int = 0


@dataclass(frozen=True)
class PreparedSettlement:
    """A message with its id fixed before anything is sent (so nothing sends twice)."""

    message_id: str
    message: SettlementMessage
    fee: CostEstimate
    extra: Mapping[str, Any] = field(default_factory=dict)


class BridgeAdapter(ABC):
    """One bridge protocol. Adapters speak the real on-chain interface through web3.

    The manager calls ``prepare`` (id and fee, no side effects), stores the record, then
    ``send``; it polls ``get_status``; ``retry`` re-executes a failed delivery and
    ``refund`` claims the source-side escrow back after the timeout.
    """

    name: str = ""

    @abstractmethod
    async def initialize(self, config: Mapping[str, Any]) -> None:
        """Connect to the chains named in ``config``."""

    @abstractmethod
    def supported_chains(self) -> set[int]:
        """EVM chain ids this adapter can send between."""

    @abstractmethod
    async def estimate_cost(self, message: SettlementMessage) -> CostEstimate:
        """Quote the fee for ``message`` without sending anything."""

    @abstractmethod
    async def prepare(self, message: SettlementMessage) -> PreparedSettlement:
        """Fix the message id and fee for ``message`` without sending anything."""

    @abstractmethod
    async def send(self, prepared: PreparedSettlement) -> SettlementResult:
        """Put the message on chain; raise BridgeTransactionError when it reverts."""

    @abstractmethod
    async def get_status(self, prepared: PreparedSettlement) -> SettlementResult:
        """Read the message's current status from the chains."""

    @abstractmethod
    async def retry(
        self, prepared: PreparedSettlement, gas_limit: int | None = None
    ) -> SettlementResult:
        """Re-execute a failed delivery, optionally with more gas."""

    @abstractmethod
    async def refund(self, prepared: PreparedSettlement) -> SettlementResult:
        """Reclaim the escrowed payment of an unpaid message once its deadline passed (for
        the EVM adapters: a cancel on the destination, reported back through the bridge)."""

    async def close(self) -> None:  # noqa: B027 - optional hook, default does nothing
        """Release connections; adapters holding none need not override."""
