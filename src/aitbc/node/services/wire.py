"""Rows to wire dicts, exactly as docs/protocol.md shows them. Money goes out as strings.

A row is an ORM object or a Core row of the same table (attribute access either way).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from ..clock import iso
from ..models import BidRow, JobRow, MinerRow, OfferRow, TransferRow


def money(value: int | None) -> str | None:
    return None if value is None else str(value)


def job_wire(row: JobRow | Row[Any]) -> dict[str, Any]:
    return {
        "id": row.id,
        "client_id": row.client_id,
        "job_type": row.job_type,
        "payload": row.payload,
        "constraints": row.constraints,
        "price": str(row.price),
        "state": row.state,
        "miner_id": row.miner_id,
        "attempts": row.attempts,
        "ttl_seconds": row.ttl_seconds,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
        "expires_at": iso(row.expires_at),
        "lease_expires_at": iso(row.lease_expires_at),
        "error": row.error,
        "receipt_id": row.receipt_id,
    }


def transfer_wire(row: TransferRow | Row[Any]) -> dict[str, Any]:
    return {
        "id": row.id,
        "from_account": row.from_account,
        "to_account": row.to_account,
        "amount": str(row.amount),
        "kind": row.kind,
        "job_id": row.job_id,
        "memo": row.memo,
        "created_at": iso(row.created_at),
    }


def miner_wire(row: MinerRow | Row[Any]) -> dict[str, Any]:
    return {
        "id": row.principal_id,
        "public_key": row.public_key,
        "key_id": row.key_id,
        "capabilities": row.capabilities,
        "registered_at": iso(row.registered_at),
        "last_heartbeat_at": iso(row.last_heartbeat_at),
    }


def offer_wire(row: OfferRow | Row[Any]) -> dict[str, Any]:
    return {
        "id": row.id,
        "provider_id": row.provider_id,
        "capacity": row.capacity,
        "price_per_unit": str(row.price_per_unit),
        "models": row.models,
        "region": row.region,
        "gpu_memory_gb": row.gpu_memory_gb,
        "unit": row.unit,
        "max_units": row.max_units,
        "state": row.state,
        "created_at": iso(row.created_at),
    }


def bid_wire(row: BidRow | Row[Any]) -> dict[str, Any]:
    return {
        "id": row.id,
        "offer_id": row.offer_id,
        "client_id": row.client_id,
        "units": row.units,
        "price_per_unit": str(row.price_per_unit),
        "state": row.state,
        "created_at": iso(row.created_at),
    }
