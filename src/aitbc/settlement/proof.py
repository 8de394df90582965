"""Build a SettlementMessage from a job's signed receipt (the proof it carries)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..core.canonical import content_hash
from ..errors import SettlementValidationError
from .bridges.base import SettlementMessage
from .codec import parse_int

__all__ = ["DEFAULT_GAS_LIMIT", "message_from_receipt"]

DEFAULT_GAS_LIMIT = 200_000


def message_from_receipt(
    receipt: Mapping[str, Any],
    *,
    target_chain_id: int,
    recipient: str,
    gas_limit: int = DEFAULT_GAS_LIMIT,
    payment_token: str = "native",
) -> SettlementMessage:
    """The settlement of ``receipt`` to ``target_chain_id``, paying ``recipient``.

    Source chain = the receipt's ``chain_id``; payment = its ``price``; nonce = its
    128-bit hex ``nonce``; proof = the whole receipt; signature = the coordinator's.
    Does not verify the receipt (the caller and BridgeManager do). Raises
    SettlementValidationError when a field is missing or malformed.
    """
    try:
        job_id = str(receipt["job_id"])
        source = parse_int(receipt["chain_id"], "receipt chain_id")
        price = parse_int(receipt["price"], "receipt price")
        nonce = int(str(receipt["nonce"]), 16)
        signature = dict(receipt["signature"])
    except (KeyError, TypeError, ValueError) as exc:
        raise SettlementValidationError(f"receipt cannot back a settlement: {exc!r}") from exc
    return SettlementMessage(
        source_chain_id=source,
        target_chain_id=target_chain_id,
        job_id=job_id,
        receipt_hash=content_hash(dict(receipt)),
        payment_amount=price,
        recipient=recipient,
        payment_token=payment_token,
        proof_data={"receipt": dict(receipt)},
        nonce=nonce,
        signature=signature,
        gas_limit=gas_limit,
    )
