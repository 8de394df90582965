"""Running one claimed job: execute it off the event loop, then submit or fail it."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..core.canonical import content_hash
from ..core.output import OUTPUT_KEY
from ..errors import (
    AITBCError,
    ConflictError,
    NotFoundError,
    ReceiptVerificationError,
)
from .backoff import is_retryable
from .claims import check_receipt, result_body
from .config import MinerConfig
from .errors import ExecutionCanceled, ExecutorError, UnsupportedJobTypeError
from .executors import Execution, Executor
from .link import CoordinatorLink
from .output import BlobCache, JobStream

_log = logging.getLogger("aitbc.miner")
#: The node keeps failure messages short; so do we.
MAX_ERROR_CHARS = 1000


@dataclass
class MinerStats:
    """Counters a running miner keeps (read them in tests, the demo, or logs)."""

    claimed: int = 0
    completed: int = 0
    failed: int = 0
    lost: int = 0
    bad_receipts: int = 0
    receipts: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class HeldJob:
    """A job this miner holds a lease on, and the switch that stops its execution."""

    job: dict[str, Any]
    claimed_at: float = field(default_factory=time.monotonic)
    cancel: threading.Event = field(default_factory=threading.Event)
    reason: str = ""
    lost: bool = False

    @property
    def job_id(self) -> str:
        return str(self.job["id"])

    def stop(self, reason: str, *, lost: bool = False) -> None:
        """Ask the executor to stop (the first reason given wins)."""
        if not self.cancel.is_set():
            self.reason = reason
            self.cancel.set()
        self.lost = self.lost or lost


class JobRunner:
    """Executes held jobs and reports their outcome to the node."""

    def __init__(
        self,
        config: MinerConfig,
        executors: Mapping[str, Executor],
        link: CoordinatorLink,
        stats: MinerStats,
        stopping: asyncio.Event,
        blobs: BlobCache | None = None,
    ) -> None:
        self.config = config
        self.blobs = blobs or BlobCache()
        self.executors = executors
        self.link = link
        self.stats = stats
        self.stopping = stopping

    async def handle(self, held: HeldJob) -> None:
        """Run ``held`` and submit its result, or report why it failed."""
        outcome = await self.execute(held)
        if held.lost:
            self.stats.lost += 1
            _log.warning("job %s: lease lost, result discarded", held.job_id)
        elif isinstance(outcome, Execution):
            await self.submit(held.job, outcome)
        else:
            await self.fail(held.job_id, outcome)

    async def execute(self, held: HeldJob) -> Execution | str:
        """The execution, or the failure message to report."""
        stream: JobStream | None = None
        try:
            executor = self._executor_for(held.job)
            stream = JobStream(
                held.job_id,
                self.link,
                self.blobs,
                self.config.submit_timeout,
                self.config.output_interval,
            )
            run = asyncio.ensure_future(
                asyncio.to_thread(executor.execute, held.job["payload"], held.cancel, stream)
            )
            try:
                await self._await_or_stop(run, held)
            finally:
                if not run.done():  # we were canceled: never leave a thread on a dead job
                    held.stop("miner task canceled")
                    run.add_done_callback(_consume)
            execution = _checked(run.result())
            output, stream = await stream.close(), None
            if output is None:
                return execution
            return Execution(result={**execution.result, OUTPUT_KEY: output}, units=execution.units)
        except ExecutionCanceled:
            return held.reason or "execution canceled"
        except ExecutorError as exc:
            return str(exc)
        except AITBCError as exc:  # the node refused streamed output (lease lost...)
            return f"streamed output refused: {exc}"
        except Exception as exc:
            # An executor is plugin code: any bug in it fails the job, not the miner.
            _log.exception("job %s: executor raised", held.job_id)
            return f"executor error: {type(exc).__name__}: {exc}"
        finally:
            if stream is not None:  # chunks already emitted still reach the node
                await stream.abandon()

    def _executor_for(self, job: Mapping[str, Any]) -> Executor:
        executor = self.executors.get(str(job.get("job_type")))
        if executor is None:
            raise UnsupportedJobTypeError(f"no executor for job type {job.get('job_type')!r}")
        if not isinstance(job.get("payload"), dict):
            raise ExecutorError("payload must be a JSON object")
        return executor

    async def _await_or_stop(self, run: asyncio.Future[Execution], held: HeldJob) -> None:
        """Wait for ``run``; once the miner is stopping, give it ``shutdown_grace`` more
        seconds, then stop it."""
        stop: asyncio.Future[Any] = asyncio.ensure_future(self.stopping.wait())
        try:
            await asyncio.wait([run, stop], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if not run.done():
            await asyncio.wait({run}, timeout=self.config.shutdown_grace)
        if not run.done():
            held.stop("miner shut down before the job finished")
        await asyncio.wait({run})

    async def submit(self, job: Mapping[str, Any], execution: Execution) -> None:
        """Attest and submit a result; verify the receipt the node returns."""
        node, miner_id = self.link.node, self.link.miner_id
        assert node is not None and miner_id is not None  # set by registration
        body = result_body(job, execution, node=node, miner_id=miner_id, key=self.link.key)
        path = f"/v1/miners/jobs/{job['id']}/result"
        try:
            answer = await self.link.deliver(path, body, self.config.submit_timeout)
        except (ConflictError, NotFoundError) as exc:
            await self._settle_conflict(str(job["id"]), exc)
            return
        except AITBCError as exc:
            if is_retryable(exc):  # the node stayed out of reach for submit_timeout
                self.stats.lost += 1
                _log.error("job %s: result could not be delivered: %s", job["id"], exc)
            else:  # refused (malformed, too large...): fail it so the client is refunded
                await self.fail(str(job["id"]), f"node rejected the result: {exc}")
            return
        self._record_receipt(str(job["id"]), answer.get("receipt"))

    def _record_receipt(self, job_id: str, receipt: Any) -> None:
        node = self.link.node
        assert node is not None
        self.stats.completed += 1
        try:
            if not isinstance(receipt, dict):
                raise ReceiptVerificationError("the node returned no receipt")
            check_receipt(receipt, node, self.link.key)
        except ReceiptVerificationError as exc:
            self.stats.bad_receipts += 1
            _log.error("job %s: receipt does not verify: %s", job_id, exc)
            return
        self.stats.receipts.append(receipt)
        _log.info("job %s completed, receipt %s", job_id, receipt.get("receipt_id"))

    async def _settle_conflict(self, job_id: str, exc: AITBCError) -> None:
        """A 409/404 after submitting: the job moved on without us, unless our first
        attempt was accepted and only its answer got lost."""
        try:
            job = await self.link.get_job(job_id)
        except AITBCError:
            job = {}
        if job.get("state") == "COMPLETED" and job.get("miner_id") == self.link.miner_id:
            self.stats.completed += 1
            _log.info("job %s: completed (answer lost in transit)", job_id)
            return
        self.stats.lost += 1
        _log.warning("job %s: result refused: %s", job_id, exc)

    async def fail(self, job_id: str, message: str) -> None:
        """Report a failed job (the node refunds its client)."""
        body = {"error": message[:MAX_ERROR_CHARS]}
        try:
            await self.link.deliver(
                f"/v1/miners/jobs/{job_id}/fail", body, self.config.submit_timeout
            )
        except AITBCError as exc:
            self.stats.lost += 1
            _log.warning("job %s: failure could not be reported: %s", job_id, exc)
            return
        self.stats.failed += 1
        _log.info("job %s failed: %s", job_id, message)


def _consume(future: asyncio.Future[Execution]) -> None:
    """Retrieve the outcome of a run nobody awaits any more, so asyncio does not log
    it as never retrieved."""
    if not future.cancelled():
        future.exception()


def _checked(execution: Any) -> Execution:
    """Refuse executor output the node could not accept or hash."""
    if not isinstance(execution, Execution):
        raise ExecutorError(f"executor returned {type(execution).__name__}, not an Execution")
    if not isinstance(execution.result, dict):
        raise ExecutorError("executor result must be a JSON object")
    if isinstance(execution.units, bool) or not isinstance(execution.units, int):
        raise ExecutorError("executor units must be an integer")
    if execution.units < 1:
        raise ExecutorError("executor units must be at least 1")
    try:
        content_hash(execution.result)
    except AITBCError as exc:
        raise ExecutorError(f"executor result is not canonical JSON: {exc}") from exc
    return execution
