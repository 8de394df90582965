"""The job batch: submitted half over HTTP and half over WebSocket, followed live through
the node's event stream, then each result recomputed and each receipt verified offline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import AITBCClient
from ..core.canonical import content_hash
from ..errors import AITBCError, ReceiptVerificationError
from ..models import Job, JobState
from ..transports.websocket import WebSocketTransport
from .plan import PlannedJob, expected_result


@dataclass
class JobRecord:
    """What happened to one planned job (filled in as it goes)."""

    plan: PlannedJob
    job_id: str = ""
    state: str = "PENDING"
    events: int = 0
    miner_id: str | None = None
    submitted_at: float = 0.0
    seconds: float | None = None
    receipt: dict[str, Any] | None = None
    result_ok: bool = False
    receipt_ok: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def completed(self) -> bool:
        """True once the job reached COMPLETED."""
        return self.state == JobState.COMPLETED


Changed = Callable[[JobRecord], None]


async def submit_all(
    records: list[JobRecord], clients: Mapping[str, AITBCClient], changed: Changed
) -> None:
    """Create every job through the client of its planned transport (``http``/``ws``)."""
    for record in records:
        plan = record.plan
        client = clients[plan.transport]
        job = await client.jobs.create(
            job_type=plan.job_type, payload=plan.payload, price=plan.price
        )
        record.job_id, record.state = job.id, str(job.state)
        record.submitted_at = time.monotonic()
        changed(record)


async def follow_all(
    records: list[JobRecord],
    ws: WebSocketTransport,
    changed: Changed,
    timeout: float,  # noqa: ASYNC109 (the demo's overall deadline for the batch)
) -> None:
    """Stream every job's events over the one WebSocket until each job is final.

    Raises TimeoutError when some job is still open after ``timeout`` seconds.
    """
    async with asyncio.timeout(timeout), asyncio.TaskGroup() as group:
        for record in records:
            group.create_task(_follow(record, ws, changed))


async def _follow(record: JobRecord, ws: WebSocketTransport, changed: Changed) -> None:
    # From seq 0: events from before we subscribed are replayed, none is missed.
    async with ws.stream("subscribe", f"job:{record.job_id}", {"resume_from": 0}) as events:
        async for event in events:
            job = Job.model_validate(event["data"])
            record.events += 1
            record.state, record.miner_id = str(job.state), job.miner_id
            if job.is_terminal:
                record.seconds = time.monotonic() - record.submitted_at
            changed(record)
            if job.is_terminal:
                return
    raise AITBCError(f"the event stream of {record.job_id} ended before the job did")


async def check_job(record: JobRecord, client: AITBCClient) -> None:
    """Fetch the result over the job's own transport; recompute it and verify the receipt
    offline against the node's published keys. Problems are recorded, not raised."""
    if not record.completed:
        record.problems.append(f"{record.job_id} ended {record.state}")
        return
    answer = await client.jobs.result(record.job_id)
    expected = expected_result(record.plan.job_type, record.plan.payload)
    record.result_ok = answer.result == expected
    if not record.result_ok:
        record.problems.append(f"{record.job_id}: result differs from the recomputed one")
    receipt = answer.receipt.to_wire()
    record.receipt = receipt
    try:
        await client.receipts.verify(receipt)
    except ReceiptVerificationError as exc:
        record.problems.append(f"{record.job_id}: receipt does not verify: {exc}")
        return
    hashes_ok = receipt.get("input_hash") == content_hash(record.plan.payload) and receipt.get(
        "output_hash"
    ) == content_hash(answer.result)
    price_ok = int(receipt.get("price", -1)) == record.plan.price
    record.receipt_ok = hashes_ok and price_ok
    if not record.receipt_ok:
        record.problems.append(f"{record.job_id}: receipt hashes or price do not match")


async def tampered_receipt_refused(client: AITBCClient, receipt: Mapping[str, Any]) -> bool:
    """True when a receipt with one field changed no longer verifies."""
    forged = {**receipt, "price": str(int(receipt["price"]) + 1)}
    try:
        await client.receipts.verify(forged)
    except ReceiptVerificationError:
        return True
    return False
