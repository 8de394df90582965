"""Checks a settlement message must pass before anything goes on chain.

The proof of a settlement is the coordinator-signed receipt itself, carried in
``message.proof_data["receipt"]``. A message is accepted only when:

- its chains differ and the chosen bridge supports both;
- its canonical JSON fits ``max_message_bytes``;
- ``payment_amount`` > 0 and ``recipient`` is a well-formed, non-zero EVM address
  (mixed case must carry a valid EIP-55 checksum);
- the receipt verifies offline against the *caller's* trusted coordinator keys (never a
  key named in the receipt), and the message agrees with it: same job id,
  ``receipt_hash`` = content hash of the receipt, ``signature`` = the receipt's signature,
  ``payment_amount`` = the receipt's price and ``source_chain_id`` = the receipt's chain id.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from eth_utils.address import is_checksum_address

from ..core.canonical import canonical_json, content_hash
from ..core.receipts import verify_receipt
from ..core.signing import VerifyKey
from ..errors import (
    ConfigurationError,
    ReceiptVerificationError,
    SettlementValidationError,
    UnsupportedChainError,
)
from .bridges.base import SettlementMessage
from .codec import message_to_dict

__all__ = [
    "DEFAULT_MAX_MESSAGE_BYTES",
    "check_address",
    "check_chains",
    "check_proof",
    "check_shape",
    "trusted_keys_from",
    "validate_message",
]

DEFAULT_MAX_MESSAGE_BYTES = 16_384
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_ZERO_ADDRESS = "0x" + "0" * 40


def trusted_keys_from(entries: Iterable[Any]) -> dict[str, VerifyKey]:
    """Coordinator keys by key id, from ``/v1/info`` ``signing_keys`` entries.

    Accepts ``{"public_key": b64, ...}`` objects, base64url strings or VerifyKey objects.
    Raises ConfigurationError for anything else.
    """
    keys: dict[str, VerifyKey] = {}
    for entry in entries:
        if isinstance(entry, VerifyKey):
            key = entry
        elif isinstance(entry, str):
            key = VerifyKey.from_b64(entry)
        elif isinstance(entry, Mapping) and isinstance(entry.get("public_key"), str):
            key = VerifyKey.from_b64(entry["public_key"])
        else:
            raise ConfigurationError(f"not a coordinator key: {entry!r}")
        keys[key.key_id] = key
    return keys


def check_chains(message: SettlementMessage, bridge_name: str, supported: set[int]) -> None:
    """Raise UnsupportedChainError unless the bridge can carry source → target."""
    if message.source_chain_id == message.target_chain_id:
        raise UnsupportedChainError(
            f"source and target chain are both {message.source_chain_id}: nothing to bridge"
        )
    missing = [c for c in (message.source_chain_id, message.target_chain_id) if c not in supported]
    if missing:
        raise UnsupportedChainError(
            f"bridge {bridge_name!r} does not support chain(s) {missing}; "
            f"it supports {sorted(supported)}"
        )


def check_shape(message: SettlementMessage, max_message_bytes: int) -> None:
    """Size, payment, recipient and gas checks that need no keys."""
    size = len(canonical_json(message_to_dict(message)))
    if size > max_message_bytes:
        raise SettlementValidationError(
            f"settlement message is {size} bytes, over the {max_message_bytes}-byte limit"
        )
    if message.payment_amount <= 0:
        raise SettlementValidationError("payment_amount must be positive")
    if message.gas_limit <= 0:
        raise SettlementValidationError("gas_limit must be positive")
    check_address(message.recipient)


def check_address(address: str) -> None:
    """Raise SettlementValidationError unless ``address`` is a usable EVM address."""
    if not _ADDRESS.match(address):
        raise SettlementValidationError(f"recipient {address!r} is not a 0x-prefixed address")
    if address.lower() == _ZERO_ADDRESS:
        raise SettlementValidationError("recipient is the zero address")
    body = address[2:]
    mixed = body != body.lower() and body != body.upper()
    if mixed and not is_checksum_address(address):
        raise SettlementValidationError(f"recipient {address!r} has a bad EIP-55 checksum")


def check_proof(message: SettlementMessage, trusted_keys: Mapping[str, VerifyKey]) -> None:
    """Verify the receipt in ``proof_data`` and that the message agrees with it."""
    if not trusted_keys:
        raise ConfigurationError(
            "no trusted coordinator keys: pass trusted_keys (or let the transport read /v1/info)"
        )
    receipt = message.proof_data.get("receipt")
    if not isinstance(receipt, Mapping):
        raise SettlementValidationError("proof_data must carry the signed receipt")
    try:
        verify_receipt(receipt, trusted_keys)
    except (ReceiptVerificationError, ConfigurationError) as exc:
        raise SettlementValidationError(f"receipt does not verify: {exc}") from exc
    _check_agreement(message, receipt)


def _check_agreement(message: SettlementMessage, receipt: Mapping[str, Any]) -> None:
    mismatches: list[str] = []
    if receipt.get("job_id") != message.job_id:
        mismatches.append("job_id")
    if content_hash(dict(receipt)) != message.receipt_hash:
        mismatches.append("receipt_hash")
    if dict(receipt.get("signature") or {}) != dict(message.signature):
        mismatches.append("signature")
    if str(receipt.get("price")) != str(message.payment_amount):
        mismatches.append("payment_amount")
    if receipt.get("chain_id") != message.source_chain_id:
        mismatches.append("source_chain_id")
    if mismatches:
        raise SettlementValidationError(
            f"message disagrees with its receipt on {', '.join(mismatches)}"
        )


def validate_message(
    message: SettlementMessage,
    *,
    bridge_name: str,
    supported_chains: set[int],
    trusted_keys: Mapping[str, VerifyKey],
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
) -> None:
    """Run every check; raise the first failure (SettlementError subclass or
    ConfigurationError when no trusted keys are configured)."""
    check_chains(message, bridge_name, supported_chains)
    check_shape(message, max_message_bytes)
    check_proof(message, trusted_keys)
