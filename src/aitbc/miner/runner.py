"""The miner: register, heartbeat, long-poll, run, submit; shut down gracefully.

One :class:`Miner` serves one coordinator. ``max_concurrency`` worker loops each
long-poll for a job and run it; one heartbeat loop keeps the node's leases on held jobs
alive and notices when one was lost. Every call to the node survives the node being
down or restarting: it backs off and tries again, and re-registers when the node has
forgotten the miner.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any

from ..core.signing import SigningKey
from ..errors import AITBCError, WaitTimeoutError
from ..transports.base import JSONDict, Transport
from .backoff import Backoff, is_retryable, is_unregistered
from .claims import capabilities
from .config import MinerConfig
from .executors import Executor, load_executors
from .identity import load_or_create_key
from .jobs import HeldJob, JobRunner, MinerStats
from .link import CoordinatorLink
from .output import BlobCache

_log = logging.getLogger("aitbc.miner")
# Heartbeats never come closer together than this, however short the node's leases.
_MIN_HEARTBEAT = 0.2
#: A heartbeat interval this much shorter than the current one calls for a heartbeat now.
_LEASE_CHANGE = 0.9


class Miner:
    """A reference miner.

    Build it with a :class:`MinerConfig` (executors, key and transport default from the
    config), ``await miner.run()`` until ``miner.stop()`` is called, then it returns
    after the in-flight jobs finished or were reported failed. ``miner.ready`` is set once
    the miner is registered. ``run()`` raises the error that made it give up (a rejected
    API key, for example); connection problems never make it give up.

    Raises ConfigurationError at construction for unknown executors or a bad key file.
    """

    def __init__(
        self,
        config: MinerConfig,
        *,
        executors: Mapping[str, Executor] | None = None,
        key: SigningKey | None = None,
        transport: Transport | None = None,
    ) -> None:
        self.config = config
        self.executors = dict(executors or load_executors(config.executors))
        self.key = key or load_or_create_key(config.key_file)
        self.stats = MinerStats()
        self.ready = asyncio.Event()
        self._transport = transport
        self._stopping = asyncio.Event()
        self._lease_changed = asyncio.Event()
        self._register_lock = asyncio.Lock()
        self._held: dict[str, HeldJob] = {}
        self._lease_seconds: float | None = None
        self._fatal: AITBCError | None = None
        self._link: CoordinatorLink | None = None
        self._started = False
        #: The marketplace offer published on start (``config.offer_price``), if any.
        self.offer_id: str | None = None

    @property
    def miner_id(self) -> str | None:
        """The id the node assigned at registration (None before)."""
        return self._link.miner_id if self._link else None

    @property
    def capabilities(self) -> dict[str, Any]:
        """What the miner registers: its executors' job types, models, memory, region."""
        return capabilities(
            self.executors,
            models=self.config.models,
            gpu_memory_gb=self.config.gpu_memory_gb,
            region=self.config.region,
            min_price=self.config.min_price,
        )

    def stop(self) -> None:
        """Ask the miner to stop: no more polling; in-flight jobs get ``shutdown_grace``
        seconds to finish, then are stopped and reported failed. Idempotent; call it
        from the event loop's thread (e.g. a signal handler added to the loop)."""
        self._stopping.set()

    async def run(self) -> None:
        """Serve until :meth:`stop`; raises the AITBCError that made the miner give up
        (e.g. AuthenticationError), and RuntimeError when this miner already ran."""
        if self._started:
            raise RuntimeError("a Miner runs once; build a new one to run again")
        self._started = True
        transport = self._transport or self._open_transport()
        link = CoordinatorLink(transport, self.key, self._backoff())
        self._link = link
        try:
            if await self._register(link):
                await self._publish_offer(link)
                self.ready.set()
                await self._serve(link)
        finally:
            for held in self._held.values():
                held.stop("miner stopped")
            if self.offer_id is not None:  # a stopped miner offers nothing
                with contextlib.suppress(AITBCError):
                    path = f"/v1/marketplace/offers/{self.offer_id}/close"
                    await transport.request("POST", path, {})
            if self._transport is None:
                await transport.disconnect()
        if self._fatal is not None:
            raise self._fatal

    @contextlib.asynccontextmanager
    async def running(self, register_timeout: float = 30.0) -> AsyncIterator[Miner]:
        """Run in the background for the ``async with`` block, registered on entry.

        Raises what made :meth:`run` give up before registering (e.g.
        AuthenticationError), WaitTimeoutError when registration takes longer than
        ``register_timeout`` seconds (the node unreachable), RuntimeError when
        :meth:`stop` came first. On exit the miner stops gracefully.
        """
        task = asyncio.create_task(self.run(), name="aitbc-miner")
        try:
            ready = asyncio.ensure_future(self.ready.wait())
            await asyncio.wait(
                [ready, task], timeout=register_timeout, return_when=asyncio.FIRST_COMPLETED
            )
            ready.cancel()
            if not self.ready.is_set():
                if task.done():
                    await task  # raises why the miner gave up
                    raise RuntimeError("the miner was stopped before it registered")
                raise WaitTimeoutError(f"miner not registered within {register_timeout}s")
            yield self
        finally:
            self.stop()
            await task

    def _open_transport(self) -> Transport:
        from ..transports.http import HTTPTransport

        headers = {**self.config.extra_headers, "X-API-Key": self.config.api_key}
        return HTTPTransport(
            {
                "base_url": self.config.coordinator,
                "timeout": self.config.request_timeout,
                "default_headers": headers,
                # The miner's own loops back off and retry; one policy, not two stacked.
                "max_retries": 0,
            }
        )

    def _backoff(self) -> Backoff:
        return Backoff(self.config.backoff_base, self.config.backoff_cap)

    async def _serve(self, link: CoordinatorLink) -> None:
        blobs = BlobCache(self.config.blob_cache_dir)
        runner = JobRunner(self.config, self.executors, link, self.stats, self._stopping, blobs)
        workers = [
            asyncio.create_task(self._work_loop(link, runner))
            for _ in range(self.config.max_concurrency)
        ]
        heartbeat = asyncio.create_task(self._heartbeat_loop(link))
        try:
            await asyncio.gather(*workers)
        finally:
            for task in (*workers, heartbeat):
                task.cancel()
            await asyncio.gather(*workers, heartbeat, return_exceptions=True)

    async def _register(self, link: CoordinatorLink) -> bool:
        """Register, retrying while the node is unreachable; False if stopped first."""
        backoff = self._backoff()
        while not self._stopping.is_set():
            try:
                miner_id = await link.register(self.capabilities)
            except AITBCError as exc:
                if not is_retryable(exc):
                    self._give_up(exc)
                    return False
                delay = backoff.next_delay(exc)
                _log.warning("cannot register (%s); retrying in %.1fs", exc, delay)
                await self._pause(delay)
                continue
            _log.info("registered as %s (key %s)", miner_id, self.key.key_id)
            return True
        return False

    async def _publish_offer(self, link: CoordinatorLink) -> None:
        """Offer this miner's models on the marketplace (when ``offer_price`` is set), so
        clients and the node's OpenAI door find them. A failure is logged, not fatal."""
        if self.config.offer_price is None:
            return
        body = {
            "capacity": self.config.max_concurrency,
            "price_per_unit": str(self.config.offer_price),
            "models": self.capabilities["models"],
            "unit": self.config.offer_unit,
            "max_units": self.config.offer_max_units,
            "region": self.config.region,
            "gpu_memory_gb": self.config.gpu_memory_gb,
        }
        try:
            offer = await link.transport.request("POST", "/v1/marketplace/offers", body)
        except AITBCError as exc:
            _log.error("could not publish an offer: %s", exc)
            return
        _log.info("offered %s at %s per %s", body["models"], body["price_per_unit"], body["unit"])
        self.offer_id = str(offer.get("id"))

    async def _reregister(self, link: CoordinatorLink) -> None:
        async with self._register_lock:
            _log.warning("the node forgot this miner; registering again")
            await self._register(link)

    def _give_up(self, exc: AITBCError) -> None:
        # run() raises ``exc`` to its caller once the miner has stopped (the CLI prints it
        # as its one line), so logging it as an error here would say it twice.
        _log.debug("miner stopping: %s", exc)
        self._fatal = self._fatal or exc
        self.stop()

    async def _pause(self, seconds: float) -> None:
        """Sleep ``seconds``, or less when the miner is asked to stop."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stopping.wait()

    async def _work_loop(self, link: CoordinatorLink, runner: JobRunner) -> None:
        backoff = self._backoff()
        while not self._stopping.is_set():
            try:
                claim = await self._poll(link)
            except AITBCError as exc:
                if is_unregistered(exc):
                    await self._reregister(link)
                elif is_retryable(exc):
                    delay = backoff.next_delay(exc)
                    _log.warning("poll failed (%s); retrying in %.1fs", exc, delay)
                    await self._pause(delay)
                else:
                    self._give_up(exc)
                continue
            backoff.reset()
            if claim is not None:
                await self._run_claim(claim, runner)

    async def _poll(self, link: CoordinatorLink) -> JSONDict | None:
        """Long-poll, abandoned as soon as the miner stops. A job the node handed out in
        that instant is not lost: its lease runs out and the node requeues it."""
        poll = asyncio.ensure_future(link.poll(float(self.config.poll_wait)))
        stop = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({poll, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            if not poll.done():
                poll.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await poll
        return None if poll.cancelled() else poll.result()

    async def _run_claim(self, claim: JSONDict, runner: JobRunner) -> None:
        held = HeldJob(claim["job"])
        self.stats.claimed += 1
        self._held[held.job_id] = held
        self._note_lease(claim.get("lease_expires_at"))
        _log.info("claimed job %s (%s)", held.job_id, held.job.get("job_type"))
        try:
            await runner.handle(held)
        finally:
            self._held.pop(held.job_id, None)

    def _note_lease(self, expires_at: Any) -> None:
        """Learn the node's lease length from a claim so heartbeats come often enough."""
        try:
            left = (datetime.fromisoformat(str(expires_at)) - datetime.now(UTC)).total_seconds()
        except (TypeError, ValueError):
            return
        if left > 0 and (self._lease_seconds is None or left < self._lease_seconds):
            before = self.heartbeat_interval()
            self._lease_seconds = left
            # Each claim's lease looks a little shorter than the last (its answer's trip
            # time): only a lease that really shortens the interval wakes the heartbeat
            # loop, or a heartbeat (a node transaction) would follow such claims at once,
            # while the job's first output is on its way.
            if self.heartbeat_interval() < before * _LEASE_CHANGE:
                self._lease_changed.set()

    def heartbeat_interval(self) -> float:
        """Seconds between heartbeats: the configured interval, or a third of the
        node's lease when that is shorter, so two heartbeats can fail before it lapses."""
        interval = self.config.heartbeat_interval
        if self._lease_seconds is not None:
            interval = min(interval, max(_MIN_HEARTBEAT, self._lease_seconds / 3))
        return interval

    async def _heartbeat_loop(self, link: CoordinatorLink) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.heartbeat_interval()):
                    await self._lease_changed.wait()
            self._lease_changed.clear()
            await self._heartbeat(link)

    async def _heartbeat(self, link: CoordinatorLink) -> None:
        sent_at = time.monotonic()
        try:
            renewed = await link.heartbeat()
        except AITBCError as exc:
            if is_unregistered(exc):
                await self._reregister(link)
            elif is_retryable(exc):
                _log.warning("heartbeat failed: %s", exc)
            else:
                self._give_up(exc)
            return
        for held in list(self._held.values()):
            # A job claimed after this heartbeat left could not have been renewed by it.
            if held.claimed_at < sent_at and held.job_id not in renewed:
                held.stop("the node took the job back (lease lost)", lost=True)
