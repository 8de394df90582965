"""What the demo shows: one line per finished phase, a live progress bar with the jobs
and settlements tables while it runs (on a terminal), and the final summary.

Library logging is silenced by the command; all output goes through here so the whole
run fits on one screen.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from types import TracebackType

from rich import box
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .checks import BalanceRow, Checks
from .jobs import JobRecord
from .settle import SettlementRecord

_STATE_STYLE = {"COMPLETED": "green", "FAILED": "red", "RUNNING": "cyan", "QUEUED": "yellow"}
_STATUS_STYLE = {"completed": "green", "failed": "red", "refunded": "magenta"}


class DemoView:
    """The demo's screen. Use as a context manager around the run."""

    def __init__(self, console: Console, steps: int) -> None:
        self.console = console
        self.started = time.monotonic()
        self.jobs: list[JobRecord] = []
        self.settlements: list[SettlementRecord] = []
        self.miner_names: dict[str, str] = {}
        self.progress = Progress(
            TextColumn("[bold]{task.description:<26}"),
            BarColumn(bar_width=30),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        )
        self._steps = self.progress.add_task("starting", total=steps)
        self._live: Live | None = None

    def __enter__(self) -> DemoView:
        # Off a terminal (CI, a pipe) only the phase lines and the summary are printed.
        if self.console.is_terminal:
            self._live = Live(self, console=self.console, refresh_per_second=10, transient=True)
            self._live.__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._live is not None:
            self._live.__exit__(kind, exc, tb)
            self._live = None

    def close(self) -> None:
        """End the live display early (``--keep`` prints below it and keeps running)."""
        self.__exit__(None, None, None)

    def __rich__(self) -> RenderableType:
        parts: list[RenderableType] = [self.progress]
        if self.jobs:
            parts.append(jobs_table(self.jobs, self.miner_names))
        if self.settlements:
            parts.append(settlements_table(self.settlements))
        return Group(*parts)

    def doing(self, description: str) -> None:
        """Name the phase now running (shown on the progress bar)."""
        self.progress.update(self._steps, description=description)

    def done(self, message: str) -> None:
        """A phase finished: one line above the live view, and the bar advances."""
        elapsed = time.monotonic() - self.started
        self.console.print(f"[green]✓[/] {message} [dim]({elapsed:.1f}s)")
        self.progress.advance(self._steps)

    def changed(self, _record: object) -> None:
        """A job or settlement changed (the live view redraws on its own)."""
        if self._live is not None:
            self._live.refresh()

    def summary(self, balances: Sequence[BalanceRow], checks: Checks) -> None:
        """Print the final tables, the checks and, when all passed, the verdict."""
        self.console.print(jobs_table(self.jobs, self.miner_names))
        if self.settlements:
            self.console.print(settlements_table(self.settlements))
        if balances:
            self.console.print(balances_table(balances))
        self.console.print(checks_table(checks))
        if checks.passed:  # a failure is reported by the caller, in one line
            total = time.monotonic() - self.started
            self.console.print(
                f"[bold green]all {len(checks.rows)} checks passed[/] in {total:.1f}s"
            )


def _table(title: str, *columns: str) -> Table:
    table = Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    for column in columns:
        table.add_column(column, no_wrap=True)
    return table


def short(identifier: str, keep: int = 13) -> str:
    """``identifier`` cut to ``keep`` characters and an ellipsis (ids are long)."""
    return identifier if len(identifier) <= keep + 1 else identifier[:keep] + "…"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}s"


def jobs_table(jobs: Sequence[JobRecord], miner_names: dict[str, str]) -> Table:
    """Job, type, transport, state, miner, events seen, time, receipt."""
    table = _table("jobs", "job", "type", "via", "state", "miner", "events", "time", "receipt")
    for job in jobs:
        style = _STATE_STYLE.get(job.state, "")
        miner = miner_names.get(job.miner_id or "", job.miner_id or "-")
        receipt = "[green]✓ verified" if job.receipt_ok and job.result_ok else "-"
        state = f"[{style}]{job.state}" if style else job.state
        table.add_row(
            short(job.job_id) if job.job_id else "-",
            job.plan.job_type,
            "HTTP" if job.plan.transport == "http" else "WS",
            state,
            miner,
            str(job.events),
            _seconds(job.seconds),
            receipt,
        )
    return table


def settlements_table(settlements: Sequence[SettlementRecord]) -> Table:
    """Bridge, job, message id (short), amount, status, time."""
    table = _table("settlements 1 → 42161", "bridge", "job", "message", "amount", "status", "time")
    for s in settlements:
        style = _STATUS_STYLE.get(s.status, "yellow")
        message = short(s.message_id, 12) if s.message_id else "-"
        table.add_row(
            s.bridge,
            short(s.job.job_id),
            message,
            f"{s.amount:,}",
            f"[{style}]{s.status}",
            _seconds(s.seconds),
        )
    return table


def balances_table(rows: Sequence[BalanceRow]) -> Table:
    """Ledger, account, before, after, change."""
    table = _table("balances", "ledger", "account", "before", "after", "change")
    for column in table.columns[2:]:
        column.justify = "right"
    for row in rows:
        table.add_row(
            row.ledger, row.account, f"{row.before:,}", f"{row.after:,}", f"{row.change:+,}"
        )
    return table


def checks_table(checks: Checks) -> Table:
    """The checks two to a line."""
    table = Table.grid(padding=(0, 2))
    cells = [f"{'[green]✓' if ok else '[red]✗'}[/] {name}" for name, ok, _ in checks.rows]
    if len(cells) % 2:
        cells.append("")
    for left, right in zip(cells[::2], cells[1::2], strict=True):
        table.add_row(left, right)
    return table
