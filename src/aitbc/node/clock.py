"""Ids, timestamps and money: the small value rules every node module shares."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

#: Largest amount of base units the node stores (BIGINT); larger amounts are rejected.
MAX_AMOUNT = 2**63 - 1
#: ``sys:mint`` may go negative, but never below this, so no balance can overflow.
MINT_FLOOR = -(2**62)


def new_id(prefix: str) -> str:
    """A fresh random id with its type prefix (``job_``, ``prn_`` ...)."""
    return f"{prefix}_{secrets.token_hex(12)}"


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def iso(value: datetime | None) -> str | None:
    """ISO 8601 UTC with microseconds and ``Z``, as the wire protocol writes times."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    # isoformat is several times cheaper than strftime (a job's wire has four times).
    return value.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_iso(text: str) -> datetime:
    """Inverse of :func:`iso`; raises ValueError on anything else."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
