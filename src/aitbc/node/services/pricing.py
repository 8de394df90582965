"""Per-unit job pricing: escrow the most a job can cost, charge what it used.

A job with ``pricing`` (unit ``token`` or ``item``, ``unit_price``, ``max_units``)
escrows ``price == unit_price * max_units``. On completion the miner's reported units
(at most ``max_units``) are charged and paid out; the rest goes back to the client, and
the receipt states ``charged`` and ``refunded`` beside the escrowed ``price``. When the
holder fails a job after streaming output, each recorded chunk counts as one delivered
unit (a token delta, a batch item): those are charged, the rest refunded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..models import JobOutputRow, JobPricingRow, JobRow
from ..problems import NodeProblem, invalid
from ..schemas import JobPricing
from . import ledger

if TYPE_CHECKING:
    from ..runtime import Tx


def check_terms(price: int, terms: JobPricing | None) -> None:
    """422 unless ``price`` is exactly the most the terms can cost."""
    if terms is not None and price != terms.unit_price * terms.max_units:
        raise invalid(
            f"price must be unit_price * max_units = {terms.unit_price * terms.max_units}",
            ["body", "price"],
        )


def record_terms(tx: Tx, job_id: str, terms: JobPricing | None) -> None:
    if terms is not None:
        tx.session.add(
            JobPricingRow(
                job_id=job_id,
                unit=terms.unit,
                unit_price=terms.unit_price,
                max_units=terms.max_units,
            )
        )


async def charge_for_result(tx: Tx, job: JobRow, units: int) -> dict[str, Any]:
    """The receipt fields of a per-unit job completed with ``units`` ({} otherwise).

    Raises 422 units_exceed_max when the miner claims more units than were paid for.
    """
    terms = await tx.session.get(JobPricingRow, job.id)
    if terms is None:
        return {}
    if units > terms.max_units:
        raise NodeProblem(
            422, "units_exceed_max", f"job {job.id} paid for at most {terms.max_units} units"
        )
    return _fields(terms, job.price, units)


async def charge_for_failure(tx: Tx, job: JobRow) -> int:
    """What a failed per-unit job owes for the output it streamed (0 for others)."""
    terms = await tx.session.get(JobPricingRow, job.id)
    output = await tx.session.get(JobOutputRow, job.id)
    if terms is None or output is None:
        return 0
    return terms.unit_price * min(output.chunks, terms.max_units)


def _fields(terms: JobPricingRow, price: int, units: int) -> dict[str, Any]:
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


async def settle(tx: Tx, job: JobRow, charged: int) -> None:
    """Pay ``charged`` from escrow to the miner and refund the rest of the escrow."""
    assert job.miner_id is not None
    if charged:
        await ledger.move(tx, ledger.ESCROW, job.miner_id, charged, "payout", job_id=job.id)
    if job.price - charged:
        await ledger.move(
            tx, ledger.ESCROW, job.client_id, job.price - charged, "refund", job_id=job.id
        )
