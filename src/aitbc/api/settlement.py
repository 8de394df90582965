"""``client.settlement``: settle a completed job's payment on another chain.

The message is built from the job's receipt, verified offline first against the keys
the job's node publishes in ``/v1/info``; the ``/settlement/*`` requests then go through
the transport of that network, which must be a CrossChainTransport (or anything that
serves those paths).

Who gets paid (``recipient``, an EVM address), first match wins:

1. the ``recipient=`` argument;
2. ``client.settlement.payout_addresses[miner_id]`` (a mapping you configure);
3. ``result["payout_address"]`` when the job's result carries one: the result's hash is
   the receipt's ``output_hash``, signed by the miner and the coordinator, so the
   address cannot be swapped in transit.

When the signed result names a payout address, 1. and 2. must agree with it: another
recipient is refused (SettlementValidationError) before anything is sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..core.canonical import content_hash
from ..errors import (
    ConfigurationError,
    NotFoundError,
    SettlementValidationError,
    WaitTimeoutError,
)
from ..models import JobResult, Money, WireModel
from ..settlement.codec import message_to_dict
from ..settlement.proof import DEFAULT_GAS_LIMIT, message_from_receipt
from ..transports.base import JSONDict
from .base import ResourceAPI, TransportResolver, parse, path_segment
from .receipts import ReceiptsAPI
from .routing import settlement_route, settling_chain

__all__ = ["Settlement", "SettlementAPI", "SettlementQuote"]

DEFAULT_WAIT_TIMEOUT = 600.0
#: Statuses wait_for_settlement returns on (failed can still be retried or refunded).
SETTLED_STATUSES = frozenset({"completed", "refunded", "failed"})
# A quote does not depend on who is paid; used when no recipient is known yet.
_QUOTE_RECIPIENT = "0x" + "00" * 19 + "01"


class Settlement(WireModel):
    """A settlement's state: ``status`` is pending, in_progress, completed, failed or
    refunded; ``fee_paid`` is in the source chain's base units."""

    message_id: str
    status: str
    bridge_name: str = ""
    transaction_hash: str | None = None
    error_message: str | None = None
    gas_used: int | None = None
    fee_paid: Money | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    completed_at: datetime | None = None


class SettlementQuote(WireModel):
    """A bridge's fee quote for settling one job (base units of the source chain)."""

    bridge_name: str
    native_fee: Money
    token_fee: Money = 0
    gas_limit: int = 0
    source_chain_id: int | None = None
    target_chain_id: int | None = None


class SettlementAPI(ResourceAPI):
    """Cross-chain settlement of your completed jobs. Every method takes ``chain_id``:
    the network the job ran on (None: the default network). A multi-network client
    without ``chain_id`` finds the job's network itself and settles through the
    network that runs the bridges (see :func:`aitbc.api.routing.settlement_route`)."""

    def __init__(self, resolver: TransportResolver) -> None:
        super().__init__(resolver)
        self.payout_addresses: dict[str, str] = {}
        self._receipts = ReceiptsAPI(resolver)

    async def settle_cross_chain(
        self,
        job_id: str,
        target_chain_id: int,
        bridge_name: str | None = None,
        chain_id: int | None = None,
        *,
        recipient: str | None = None,
        gas_limit: int = DEFAULT_GAS_LIMIT,
    ) -> Settlement:
        """Settle the payment of completed job ``job_id`` on ``target_chain_id``.

        Verifies the receipt offline, then sends the settlement; returns its state right
        after sending (``settlement["message_id"]`` to follow it). Settling the same job
        again returns the same settlement. Raises NotReadyError / ConflictError when the
        job is not completed, ReceiptVerificationError for a receipt that does not
        verify, SettlementValidationError when no recipient is known, the bridge
        errors of BridgeManager, ConfigurationError when the transport cannot settle.
        """
        source, settler = await settlement_route(self._resolver, job_id, chain_id)
        body = await self._message_body(job_id, target_chain_id, source, recipient, gas_limit)
        if bridge_name is not None:
            body["bridge_name"] = bridge_name
        answer = await self._settlement("POST", "/settlement/cross-chain", body, settler)
        return parse(Settlement, answer, "settlement")

    async def estimate_cost(
        self,
        job_id: str,
        target_chain_id: int,
        bridge_name: str | None = None,
        chain_id: int | None = None,
        *,
        gas_limit: int = DEFAULT_GAS_LIMIT,
    ) -> SettlementQuote:
        """The fee a bridge would charge to settle ``job_id`` on ``target_chain_id``."""
        source, settler = await settlement_route(self._resolver, job_id, chain_id)
        body = await self._message_body(
            job_id, target_chain_id, source, None, gas_limit, for_quote=True
        )
        if bridge_name is not None:
            body["bridge_name"] = bridge_name
        answer = await self._settlement("POST", "/settlement/estimate", body, settler)
        return parse(SettlementQuote, answer, "settlement quote")

    async def get_status(self, message_id: str, *, chain_id: int | None = None) -> Settlement:
        """The settlement's current state (NotFoundError for an unknown id)."""
        path = f"/settlement/{path_segment(message_id, 'message_id')}"
        chain_id = settling_chain(self._resolver, chain_id)
        return parse(Settlement, await self._settlement("GET", path, None, chain_id), "settlement")

    async def retry(
        self, message_id: str, gas_limit: int | None = None, *, chain_id: int | None = None
    ) -> Settlement:
        """Re-execute a failed settlement, optionally with a higher ``gas_limit``.

        Raises ConflictError when it is not failed.
        """
        body = {} if gas_limit is None else {"gas_limit": gas_limit}
        path = f"/settlement/{path_segment(message_id, 'message_id')}/retry"
        chain_id = settling_chain(self._resolver, chain_id)
        return parse(Settlement, await self._settlement("POST", path, body, chain_id), "settlement")

    async def refund(self, message_id: str, *, chain_id: int | None = None) -> Settlement:
        """Reclaim the escrowed payment of a settlement never delivered in time.

        Raises BridgeTransactionError while the source contract's timeout has not
        passed, ConflictError once it completed or was refunded.
        """
        path = f"/settlement/{path_segment(message_id, 'message_id')}/refund"
        chain_id = settling_chain(self._resolver, chain_id)
        return parse(Settlement, await self._settlement("POST", path, {}, chain_id), "settlement")

    async def wait_for_settlement(
        self,
        message_id: str,
        *,
        timeout: float = DEFAULT_WAIT_TIMEOUT,  # noqa: ASYNC109 (seed-style API)
        poll_interval: float = 0.5,
        chain_id: int | None = None,
    ) -> Settlement:
        """Poll until the settlement is completed, refunded or failed, and return it.

        Always has a deadline: WaitTimeoutError after ``timeout`` seconds.
        """
        if not timeout or timeout <= 0 or timeout == float("inf"):
            raise ConfigurationError("wait_for_settlement needs a finite timeout > 0")
        if poll_interval <= 0:
            raise ConfigurationError("poll_interval must be positive")
        try:
            async with asyncio.timeout(timeout) as scope:
                return await self._poll(message_id, poll_interval, chain_id)
        except TimeoutError as exc:
            if not scope.expired():
                raise  # the transport's own deadline, not ours
            raise WaitTimeoutError(
                f"settlement {message_id} did not settle within {timeout}s"
            ) from exc

    async def _poll(self, message_id: str, interval: float, chain_id: int | None) -> Settlement:
        while True:
            settlement = await self.get_status(message_id, chain_id=chain_id)
            if settlement.status in SETTLED_STATUSES:
                return settlement
            await asyncio.sleep(interval)

    async def _settlement(
        self, method: str, path: str, body: Mapping[str, Any] | None, chain_id: int | None
    ) -> JSONDict:
        try:
            return await self._request(method, path, data=body, chain_id=chain_id)
        except NotFoundError as exc:
            if exc.code == "settlement_not_found":
                raise
            raise ConfigurationError(
                f"the transport of chain {chain_id if chain_id is not None else '(default)'} "
                "does not serve /settlement/*: use a crosschain transport"
            ) from exc

    async def _message_body(
        self,
        job_id: str,
        target_chain_id: int,
        chain_id: int | None,
        recipient: str | None,
        gas_limit: int,
        *,
        for_quote: bool = False,
    ) -> dict[str, Any]:
        if isinstance(target_chain_id, bool) or not isinstance(target_chain_id, int):
            raise ConfigurationError(f"target_chain_id must be an int, got {target_chain_id!r}")
        path = f"/v1/jobs/{path_segment(job_id, 'job_id')}/result"
        job = parse(JobResult, await self._request("GET", path, chain_id=chain_id), "result")
        await self._receipts.verify(job.receipt, chain_id=chain_id)
        receipt = job.receipt.to_wire()
        payee = recipient or self._recipient_for(job, receipt)
        signed = _signed_payout(job, receipt)
        if signed is not None and payee is not None and payee.lower() != signed.lower():
            raise SettlementValidationError(
                f"wrong recipient {payee}: the miner's signed result names {signed} as the "
                "payout address"
            )
        if payee is None:
            if not for_quote:
                raise SettlementValidationError(
                    f"no payout address for miner {receipt.get('miner_id')!r}: pass "
                    "recipient=, set client.settlement.payout_addresses[miner_id], or have "
                    "the miner return result['payout_address']"
                )
            payee = _QUOTE_RECIPIENT
        message = message_from_receipt(
            receipt, target_chain_id=target_chain_id, recipient=payee, gas_limit=gas_limit
        )
        return message_to_dict(message)

    def _recipient_for(self, job: JobResult, receipt: Mapping[str, Any]) -> str | None:
        mapped = self.payout_addresses.get(str(receipt.get("miner_id")))
        if mapped:
            return mapped
        return _signed_payout(job, receipt)


def _signed_payout(job: JobResult, receipt: Mapping[str, Any]) -> str | None:
    """The payout address of the job's result, when the signed output hash covers it."""
    result = job.result
    if not isinstance(result, Mapping) or not isinstance(result.get("payout_address"), str):
        return None
    if content_hash(result) != receipt.get("output_hash"):
        return None
    return str(result["payout_address"])
