"""Per-unit job pricing: escrow the most a job can cost, charge what it used.

A job with ``pricing`` (unit ``token`` or ``item``, ``unit_price``, ``max_units``)
escrows ``price == unit_price * max_units``. On completion the miner's reported units
(at most ``max_units``) are charged and paid out; the rest goes back to the client, and
the receipt states ``charged`` and ``refunded`` beside the escrowed ``price``. When the
holder fails a job after streaming output, each recorded chunk counts as one delivered
unit (a token delta, a batch item): those are charged, the rest refunded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, bindparam, insert, select

from ..models import JobOutputRow, JobPricingRow
from ..problems import NodeProblem, invalid
from ..schemas import JobPricing
from . import ledger

if TYPE_CHECKING:
    from ..runtime import WriteTx
    from .transitions import JobRecord

JOB_PRICING = cast(Table, JobPricingRow.__table__)
JOB_OUTPUTS = cast(Table, JobOutputRow.__table__)
_INSERT_TERMS = insert(JOB_PRICING)
_TERMS = select(JOB_PRICING).where(JOB_PRICING.c.job_id == bindparam("job_id"))
_CHUNKS = select(JOB_OUTPUTS.c.chunks).where(JOB_OUTPUTS.c.job_id == bindparam("job_id"))


def check_terms(price: int, terms: JobPricing | None) -> None:
    """422 unless ``price`` is exactly the most the terms can cost."""
    if terms is not None and price != terms.unit_price * terms.max_units:
        raise invalid(
            f"price must be unit_price * max_units = {terms.unit_price * terms.max_units}",
            ["body", "price"],
        )


def record_terms(tx: WriteTx, job_id: str, terms: JobPricing | None) -> None:
    """Store a new job's per-unit terms (nothing for a per-job price)."""
    if terms is not None:
        tx.conn.execute(
            _INSERT_TERMS,
            {
                "job_id": job_id,
                "unit": terms.unit,
                "unit_price": terms.unit_price,
                "max_units": terms.max_units,
            },
        )


def charge_for_result(tx: WriteTx, job: JobRecord, units: int) -> dict[str, Any]:
    """The receipt fields of a per-unit job completed with ``units`` ({} otherwise).

    Raises 422 units_exceed_max when the miner claims more units than were paid for.
    """
    terms = tx.conn.execute(_TERMS, {"job_id": job.id}).first()
    if terms is None:
        return {}
    if units > terms.max_units:
        raise NodeProblem(
            422, "units_exceed_max", f"job {job.id} paid for at most {terms.max_units} units"
        )
    return _fields(terms, job.price, units)


def charge_for_failure(tx: WriteTx, job: JobRecord) -> int:
    """What a failed per-unit job owes for the output it streamed (0 for others)."""
    terms = tx.conn.execute(_TERMS, {"job_id": job.id}).first()
    chunks = tx.conn.execute(_CHUNKS, {"job_id": job.id}).scalar()
    if terms is None or chunks is None:
        return 0
    return int(terms.unit_price) * min(int(chunks), int(terms.max_units))


def _fields(terms: Any, price: int, units: int) -> dict[str, Any]:
    charged = terms.unit_price * units
    return {
        "pricing": {
            "unit": terms.unit,
            "unit_price": str(terms.unit_price),
            "max_units": terms.max_units,
        },
        "charged": str(charged),
        "refunded": str(price - charged),
    }


def settle(tx: WriteTx, job: JobRecord, charged: int) -> None:
    """Pay ``charged`` from escrow to the miner and refund the rest of the escrow."""
    assert job.miner_id is not None
    if charged:
        ledger.move(tx, ledger.ESCROW, job.miner_id, charged, "payout", job_id=job.id)
    if job.price - charged:
        ledger.move(tx, ledger.ESCROW, job.client_id, job.price - charged, "refund", job_id=job.id)
