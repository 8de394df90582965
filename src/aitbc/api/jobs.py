"""``client.jobs``: create, inspect, list, cancel and wait for compute jobs."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncGenerator, Mapping
from typing import Any

from ..errors import AITBCError, ConfigurationError, WaitTimeoutError
from ..models import Job, JobResult, Page, WireModel
from .base import ResourceAPI, money_to_wire, new_idempotency_key, parse, path_segment
from .pages import PageIterator
from .routing import job_network

DEFAULT_WAIT_TIMEOUT = 600.0
#: The event a streamed chunk arrives as on the ``job:{id}`` topic.
OUTPUT_EVENT = "job.output"


def job_body(job: Mapping[str, Any] | None, fields: Mapping[str, Any]) -> dict[str, Any]:
    """The POST /v1/jobs body from a dict and/or keyword fields, money as strings."""
    if job is not None and not isinstance(job, Mapping):
        raise ConfigurationError(f"job must be a dict of fields, got {type(job).__name__}")
    body = {**(job or {}), **fields}
    if "price" in body:
        body["price"] = money_to_wire(body["price"], "price")
    constraints = body.get("constraints")
    if isinstance(constraints, Mapping) and constraints.get("max_price") is not None:
        body["constraints"] = {
            **constraints,
            "max_price": money_to_wire(constraints["max_price"], "constraints.max_price"),
        }
    return body


class JobsAPI(ResourceAPI):
    """Jobs of the principal whose key the transport sends.

    Calls keyed by a job id go, without ``chain_id``, to the network this client created
    the job on (see :func:`aitbc.api.routing.job_network`), else the default network.
    """

    async def create(
        self,
        job: Mapping[str, Any] | None = None,
        /,
        *,
        idempotency_key: str | None = None,
        chain_id: int | None = None,
        **fields: Any,
    ) -> Job:
        """Submit a job: ``create({"job_type": "echo", "payload": {...}, "price": 100})``
        or the same as keywords. The price is escrowed from your account.

        One Idempotency-Key (yours, or a fresh one) covers every retry of this call, so a
        job is created and charged at most once. Raises InsufficientFundsError (402),
        ValidationError (422), ConflictError when your key was used with another body.
        """
        body = job_body(job, fields)
        answer = await self._request(
            "POST",
            "/v1/jobs",
            data=body,
            idempotency_key=idempotency_key or new_idempotency_key(),
            chain_id=chain_id,
        )
        created = parse(Job, answer, "job")
        # Remember where it lives, so settling it later asks only that network.
        self._resolver.remember_job(created.id, (await self._resolver.node_info(chain_id)).chain_id)
        return created

    async def get(self, job_id: str, *, chain_id: int | None = None) -> Job:
        """The job as it stands now; NotFoundError if it is not yours or does not exist."""
        chain_id = job_network(self._resolver, job_id, chain_id)
        answer = await self._request(
            "GET", f"/v1/jobs/{path_segment(job_id, 'job_id')}", chain_id=chain_id
        )
        return parse(Job, answer, "job")

    def list(
        self,
        *,
        state: str | None = None,
        limit: int | None = None,
        chain_id: int | None = None,
    ) -> PageIterator[Job]:
        """Your jobs, newest first, as an async iterator across pages (``limit`` per page)."""

        async def fetch(cursor: str | None) -> Page[Job]:
            params = {"state": state, "limit": limit, "cursor": cursor}
            answer = await self._request("GET", "/v1/jobs", params=params, chain_id=chain_id)
            return parse(Page[Job], answer, "page of jobs")

        return PageIterator(fetch)

    async def cancel(self, job_id: str, *, chain_id: int | None = None) -> Job:
        """Cancel a QUEUED or RUNNING job (its price is refunded); ConflictError once final."""
        chain_id = job_network(self._resolver, job_id, chain_id)
        path = f"/v1/jobs/{path_segment(job_id, 'job_id')}/cancel"
        return parse(Job, await self._request("POST", path, chain_id=chain_id), "job")

    async def result(self, job_id: str, *, chain_id: int | None = None) -> JobResult:
        """The output and receipt of a COMPLETED job.

        Raises NotReadyError (425) while it runs, ConflictError if it ended otherwise.
        """
        chain_id = job_network(self._resolver, job_id, chain_id)
        path = f"/v1/jobs/{path_segment(job_id, 'job_id')}/result"
        return parse(JobResult, await self._request("GET", path, chain_id=chain_id), "result")

    async def wait_for_completion(
        self,
        job_id: str,
        *,
        timeout: float = DEFAULT_WAIT_TIMEOUT,  # noqa: ASYNC109 (seed API: timeout=...)
        poll_interval: float = 0.2,
        max_poll_interval: float = 5.0,
        chain_id: int | None = None,
    ) -> Job:
        """Wait until the job reaches a final state and return it (check ``job.state``).

        There is always a deadline: WaitTimeoutError after ``timeout`` seconds. Wakes on
        the job's events when the transport streams (WebSocket, SSE); otherwise polls
        with exponential backoff (jittered, from ``poll_interval`` up to
        ``max_poll_interval``).
        """
        if not timeout or timeout <= 0 or timeout == float("inf"):
            raise ConfigurationError("wait_for_completion needs a finite timeout > 0")
        if poll_interval <= 0 or max_poll_interval < poll_interval:
            raise ConfigurationError("need 0 < poll_interval <= max_poll_interval")
        # Event-driven when the transport streams (``job:{id}`` over WS or SSE); polling
        # is the universal path and the fallback.
        waiting = self._wait_final(job_id, poll_interval, max_poll_interval, chain_id)
        try:
            async with asyncio.timeout(timeout) as scope:
                return await waiting
        except TimeoutError as exc:
            if not scope.expired():
                raise  # the transport's own deadline (TransportTimeout), not ours
            raise WaitTimeoutError(
                f"job {job_id} did not reach a final state within {timeout}s"
            ) from exc

    async def _poll_until_final(
        self, job_id: str, interval: float, max_interval: float, chain_id: int | None
    ) -> Job:
        while True:
            job = await self.get(job_id, chain_id=chain_id)
            if job.is_terminal:
                return job
            # Jitter spreads many waiters polling one node; never below half the interval.
            await asyncio.sleep(interval * random.uniform(0.5, 1.0))
            interval = min(max_interval, interval * 1.5)

    # -- events (realtime): job:{id} over the transport's stream --------------------------

    async def events(
        self, job_id: str, *, resume_from: int = 0, chain_id: int | None = None
    ) -> AsyncGenerator[dict[str, Any], None]:
        """The job's events (``job.created`` ... ``job.completed``), each exactly once and
        in order: replayed after seq ``resume_from`` (0 = all), then live, over the
        transport's stream (WebSocket subscription or SSE). Leaving the loop unsubscribes.

        Events are ``{"topic", "seq", "event", "data"}`` with the Job as ``data``. Raises
        StreamGapError when the node cannot replay, NotFoundError for a job that is not
        yours, TransportError when the transport cannot stream.
        """
        chain_id = job_network(self._resolver, job_id, chain_id)
        transport = await self._resolver.transport_for(chain_id)
        topic = f"job:{path_segment(job_id, 'job_id')}"
        events = transport.stream("subscribe", topic, {"resume_from": resume_from})
        try:
            async for event in events:
                yield event
        finally:
            close = getattr(events, "aclose", None)
            if close is not None:
                await close()

    async def _wait_final(
        self, job_id: str, interval: float, max_interval: float, chain_id: int | None
    ) -> Job:
        """Wait on the job's events when the transport streams; poll when it cannot (no
        streaming, no event endpoint, a broken stream). Polling is always correct and
        surfaces real problems (unknown job, bad key) itself."""
        try:
            job = await self._final_from_events(job_id, chain_id)
        except AITBCError:
            job = None
        if job is not None:
            return job
        return await self._poll_until_final(job_id, interval, max_interval, chain_id)

    async def _final_from_events(self, job_id: str, chain_id: int | None) -> Job | None:
        async with contextlib.aclosing(self.events(job_id, chain_id=chain_id)) as events:
            async for event in events:
                if event.get("event") == OUTPUT_EVENT:
                    continue
                job = parse(Job, event["data"], "job event")
                if job.is_terminal:
                    return job
        return None

    # -- streamed output (job.output events) ----------------------------------------------

    async def stream(
        self, job_id: str, *, resume_from: int = 0, chain_id: int | None = None
    ) -> AsyncGenerator[OutputChunk | JobResult | Job, None]:
        """The job's streamed output as it is produced, then how it ended.

        Yields each :class:`OutputChunk` exactly once and in index order (across
        reconnects, like :meth:`events`; ``resume_from`` is an event seq), then the
        :class:`JobResult` of a COMPLETED job (its receipt commits to every chunk:
        ``result["output"]["chain"]``, see :mod:`aitbc.core.output`) or the final
        :class:`Job` of one that FAILED, was CANCELED or EXPIRED. Chunks streamed before
        a failure stay readable. Raises like :meth:`events`.
        """
        async with contextlib.aclosing(
            self.events(job_id, resume_from=resume_from, chain_id=chain_id)
        ) as events:
            async for event in events:
                if event.get("event") == OUTPUT_EVENT:
                    yield parse(OutputChunk, event["data"], "job output")
                    continue
                job = parse(Job, event["data"], "job event")
                if job.state == "COMPLETED":
                    yield await self.result(job_id, chain_id=chain_id)
                    return
                if job.is_terminal:
                    yield job
                    return


class OutputChunk(WireModel):
    """One chunk of a job's streamed output: its ``index`` (0, 1, ...) and ``chunk``."""

    job_id: str
    index: int
    chunk: dict[str, Any]
