"""Following one job to its end: the node's event stream when the transport can stream,
polling otherwise, shown as a live table (people) or JSON Lines (``--json``).

The stream is opened from sequence 0 of the ``job:{id}`` topic, so events that happened
before we subscribed are replayed and a job that finishes between "get" and "subscribe"
is never missed.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from .. import AITBCClient
from ..api.jobs import OUTPUT_EVENT
from ..errors import AITBCError, WaitTimeoutError
from ..models import Job
from .output import Output, money, when

_STATE_STYLE = {
    "QUEUED": "yellow",
    "RUNNING": "cyan",
    "COMPLETED": "bold green",
    "FAILED": "bold red",
    "CANCELED": "magenta",
    "EXPIRED": "red",
}


class JobView:
    """The live picture of one job: its latest state and the last few events.

    People get a live table; ``--json`` gets one JSON line per event; ``quiet`` shows
    nothing (for ``submit --wait --json``, which prints only the final document).
    """

    def __init__(self, out: Output, job: Job, how: str = "", *, quiet: bool = False) -> None:
        self.out = out
        self.quiet = quiet
        self.job = job
        self.how = how
        self.events: deque[tuple[str, str, str]] = deque(maxlen=8)
        self.started = time.monotonic()
        self.events_seen_from_stream = False
        self._live: Live | None = None

    def __enter__(self) -> JobView:
        if not self.out.json_mode and not self.quiet:
            self._live = Live(self, console=self.out.console, refresh_per_second=8)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)
            if not self.out.console.is_terminal:
                self.out.console.line()  # the last frame ends without a newline

    def update(self, event: dict[str, Any], job: Job) -> None:
        """Record an event (``{"topic", "seq", "event", "data"}``) and the job it carries."""
        self.job = job
        seq = event.get("seq")
        self.events.append(("-" if seq is None else str(seq), str(event["event"]), job.state))
        if self.quiet:
            return
        if self.out.json_mode:
            self.out.json_line(event)
        elif self._live is not None:
            self._live.refresh()

    def __rich__(self) -> Group:
        job = self.job
        style = _STATE_STYLE.get(job.state, "")
        head = Table.grid(padding=(0, 2))
        head.add_row(Text(job.id, style="bold"), job.job_type, Text(job.state, style=style))
        head.add_row("price", money(job.price), f"attempts {job.attempts}")
        head.add_row("miner", job.miner_id or "-", f"{time.monotonic() - self.started:.1f}s")
        log = Table("seq", "event", "state", title=f"events ({self.how})", title_justify="left")
        for row in self.events:
            log.add_row(*row)
        return Group(head, log)


async def follow_job(
    client: AITBCClient,
    job_id: str,
    out: Output,
    *,
    stream: bool,
    timeout: float,  # noqa: ASYNC109 (a deadline the CLI user chose)
    quiet: bool = False,
) -> Job:
    """Show ``job_id`` live until it is final; returns the final Job.

    Raises WaitTimeoutError after ``timeout`` seconds, and the SDK's errors as they come.
    """
    job = await client.jobs.get(job_id)
    with JobView(out, job, "stream" if stream else "polling", quiet=quiet) as view:
        if job.is_terminal or not stream:  # nothing will stream: show where it stands
            view.update(_snapshot(job), job)
        if job.is_terminal:
            return job
        try:
            async with asyncio.timeout(timeout):
                if stream and (final := await _follow_stream(client, job_id, view)) is not None:
                    return final
                if view.how != "polling":
                    view.how = "polling"
                    view.update(_snapshot(view.job), view.job)
                return await _follow_polling(client, job_id, view)
        except TimeoutError as exc:
            raise WaitTimeoutError(f"job {job_id} still {view.job.state} after {timeout}s") from exc


async def _follow_stream(client: AITBCClient, job_id: str, view: JobView) -> Job | None:
    """Follow the event stream; None when it fails before its first event.

    A transport without streaming, a node without an event endpoint, a stream the node
    refuses: polling then finishes the job, and surfaces any real problem (a down node,
    a bad key) itself. Once events flowed, a failure is real and propagates.
    """
    transport = await client.transport_for()
    try:
        events = transport.stream("subscribe", f"job:{job_id}", {"resume_from": 0})
    except AITBCError as exc:
        view.out.note(f"event stream unavailable ({exc}); polling")
        return None
    try:
        return await _consume(events, view)
    except AITBCError as exc:
        if view.events_seen_from_stream:
            raise
        view.out.note(f"event stream unavailable ({exc}); polling")
        return None
    finally:
        closer = getattr(events, "aclose", None)
        if closer is not None:
            await closer()


async def _consume(events: AsyncIterator[dict[str, Any]], view: JobView) -> Job | None:
    async for event in events:
        view.events_seen_from_stream = True
        if event.get("event") == OUTPUT_EVENT:  # streamed output carries no Job
            continue
        job = Job.model_validate(event["data"])
        view.update(event, job)
        if job.is_terminal:
            return job
    return None  # the stream ended without a final state: polling finishes the job


async def _follow_polling(client: AITBCClient, job_id: str, view: JobView) -> Job:
    interval = 0.2
    while True:
        job = await client.jobs.get(job_id)
        if job.state != view.job.state or job.attempts != view.job.attempts:
            view.update(_snapshot(job), job)
        if job.is_terminal:
            return job
        await asyncio.sleep(interval)
        interval = min(1.0, interval * 1.5)


def _snapshot(job: Job) -> dict[str, Any]:
    """A pseudo-event (no seq) for a state seen by reading the job, not from the stream."""
    return {"topic": f"job:{job.id}", "seq": None, "event": _event_name(job), "data": job}


def _event_name(job: Job) -> str:
    return f"job.{job.state.lower()}"


def state_line(console: Console, job: Job) -> None:
    """One closing line: the job's final state and when."""
    style = _STATE_STYLE.get(job.state, "")
    error = f": {job.error}" if job.error else ""
    console.print(f"{job.id} [{style}]{job.state}[/]{error} (updated {when(job.updated_at)})")
