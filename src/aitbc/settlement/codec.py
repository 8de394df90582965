"""JSON shapes of settlement messages, results and quotes (store rows and transport bodies).

Money (payment, fees) travels as decimal strings, as everywhere on the wire; integers are
accepted on input. Decoding a malformed body raises SettlementValidationError, naming
the field, so bad input never reaches a bridge.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ..errors import SettlementValidationError
from .bridges.base import BridgeStatus, CostEstimate, SettlementMessage, SettlementResult

__all__ = [
    "estimate_to_dict",
    "message_from_dict",
    "message_to_dict",
    "parse_int",
    "result_from_dict",
    "result_to_dict",
]

_INT_FIELDS = ("source_chain_id", "target_chain_id", "nonce", "gas_limit")
_STR_FIELDS = ("job_id", "receipt_hash", "recipient", "payment_token")
_REQUIRED = ("source_chain_id", "target_chain_id", "job_id", "receipt_hash", "recipient")


def parse_int(value: Any, field_name: str) -> int:
    """An integer from an int or a decimal string; bools and floats are refused."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise SettlementValidationError(f"{field_name} must be an integer or decimal string")
    try:
        return int(value)
    except ValueError as exc:
        raise SettlementValidationError(f"{field_name} is not an integer: {value!r}") from exc


def message_to_dict(message: SettlementMessage) -> dict[str, Any]:
    """The JSON form of ``message`` (payment as a decimal string)."""
    return {
        "source_chain_id": message.source_chain_id,
        "target_chain_id": message.target_chain_id,
        "job_id": message.job_id,
        "receipt_hash": message.receipt_hash,
        "payment_amount": str(message.payment_amount),
        "payment_token": message.payment_token,
        "recipient": message.recipient,
        "proof_data": dict(message.proof_data),
        "nonce": str(message.nonce),
        "signature": dict(message.signature),
        "gas_limit": message.gas_limit,
    }


def message_from_dict(data: Mapping[str, Any]) -> SettlementMessage:
    """Parse the JSON form of a message; raise SettlementValidationError when malformed."""
    if not isinstance(data, Mapping):
        raise SettlementValidationError("a settlement message must be a JSON object")
    missing = [name for name in (*_REQUIRED, "payment_amount") if name not in data]
    if missing:
        raise SettlementValidationError(f"settlement message lacks {', '.join(missing)}")
    kwargs: dict[str, Any] = {}
    for name in _INT_FIELDS:
        if name in data:
            kwargs[name] = parse_int(data[name], name)
    for name in _STR_FIELDS:
        if name in data:
            if not isinstance(data[name], str):
                raise SettlementValidationError(f"{name} must be a string")
            kwargs[name] = data[name]
    for name in ("proof_data", "signature"):
        value = data.get(name, {})
        if not isinstance(value, Mapping):
            raise SettlementValidationError(f"{name} must be a JSON object")
        kwargs[name] = dict(value)
    kwargs["payment_amount"] = parse_int(data["payment_amount"], "payment_amount")
    return SettlementMessage(**kwargs)


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def result_to_dict(result: SettlementResult) -> dict[str, Any]:
    """The JSON form of a result (fee as a decimal string, ISO 8601 UTC times)."""
    return {
        "message_id": result.message_id,
        "status": result.status.value,
        "bridge_name": result.bridge_name,
        "transaction_hash": result.transaction_hash,
        "error_message": result.error_message,
        "gas_used": result.gas_used,
        "fee_paid": None if result.fee_paid is None else str(result.fee_paid),
        "created_at": _iso(result.created_at),
        "updated_at": _iso(result.updated_at),
        "completed_at": _iso(result.completed_at),
    }


def _parse_time(value: Any) -> datetime | None:
    if value is None:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def result_from_dict(data: Mapping[str, Any]) -> SettlementResult:
    """Parse :func:`result_to_dict` output back into a SettlementResult."""
    try:
        status = BridgeStatus(data["status"])
        fee = data.get("fee_paid")
        result = SettlementResult(
            message_id=str(data["message_id"]),
            status=status,
            bridge_name=str(data.get("bridge_name") or ""),
            transaction_hash=data.get("transaction_hash"),
            error_message=data.get("error_message"),
            gas_used=data.get("gas_used"),
            fee_paid=None if fee is None else int(fee),
            completed_at=_parse_time(data.get("completed_at")),
        )
        for name in ("created_at", "updated_at"):
            parsed = _parse_time(data.get(name))
            if parsed is not None:
                setattr(result, name, parsed)
    except (KeyError, ValueError, TypeError) as exc:
        raise SettlementValidationError(f"malformed settlement result: {exc}") from exc
    return result


def estimate_to_dict(
    estimate: CostEstimate, message: SettlementMessage | None = None
) -> dict[str, Any]:
    """The JSON form of a quote; with ``message``, also the chains it is for."""
    body: dict[str, Any] = {
        "bridge_name": estimate.bridge_name,
        "native_fee": str(estimate.native_fee),
        "token_fee": str(estimate.token_fee),
        "gas_limit": estimate.gas_limit,
    }
    if message is not None:
        body["source_chain_id"] = message.source_chain_id
        body["target_chain_id"] = message.target_chain_id
    return body
