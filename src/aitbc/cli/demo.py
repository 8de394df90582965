"""``aitbc demo``: the whole marketplace in one process, checked end to end.

A node, two miners and a two-chain devnet start on embedded defaults; a batch of jobs
goes over HTTP and WebSocket; receipts are verified offline; payments are settled
across chains through both bridges; the books are proven to balance. The story itself
lives in :mod:`aitbc.demo`; this module is the command: options, logging, exit codes.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from ..demo import DemoOptions, DemoResult, DemoView, KeptStack

EXIT_INTERRUPTED = 130


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command to the ``aitbc`` CLI."""
    app.command("demo")(demo_command)


def demo_command(
    jobs: Annotated[int, typer.Option(min=2, max=30, help="Jobs in the batch")] = 6,
    settle_per_bridge: Annotated[
        int, typer.Option(min=1, max=5, help="Settlements through each bridge")
    ] = 2,
    timeout: Annotated[
        float, typer.Option(min=1.0, help="Seconds each waiting phase may take")
    ] = 120.0,
    keep: Annotated[
        bool,
        typer.Option(
            "--keep", help="After the checks, keep everything running for the web dashboard"
        ),
    ] = False,
) -> None:
    """Run the marketplace end to end on this machine and check every step.

    Starts a node (SQLite in a temp dir), two miners and a py-evm devnet (chains 1 and
    42161), runs the jobs, verifies receipts, settles through layerzero and ccip and
    balances the books. With --keep the stack stays up after the checks and the
    dashboard's URL is printed with a ready API key, until Ctrl-C. Everything started is
    stopped and every temporary file removed on exit, Ctrl-C included. Exit status: 0
    when all checks passed, 1 otherwise (with a one-line reason), 130 when interrupted.
    """
    console = Console(highlight=False)
    # The libraries' logs would scroll the live view away; the view says what happens.
    logging.disable(logging.CRITICAL)
    try:
        from ..demo import DemoOptions  # the node and devnet extras, needed only here

        options = DemoOptions(jobs=jobs, settle_per_bridge=settle_per_bridge, timeout=timeout)
        reason = _run(console, options, keep)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted: node, miners and devnet stopped, temp files removed")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    finally:
        logging.disable(logging.NOTSET)
    if reason:
        console.print(f"[red]demo failed:[/] {reason}")
        raise typer.Exit(1)


def _run(console: Console, options: DemoOptions, keep: bool = False) -> str:
    """Run the demo in a temp dir; '' when every check passed, else the reason.

    With ``keep`` the run ends only by Ctrl-C (KeyboardInterrupt), after printing the
    summary and the dashboard's address."""
    from ..demo import DemoView, run_demo
    from ..demo.run import STEPS

    # The directory outlives the event loop, so it is removed only after every task and
    # thread (uvicorn, miners, the devnet, SQLite) has stopped, however the run ended.
    with tempfile.TemporaryDirectory(prefix="aitbc-demo-") as tmp:
        try:
            with DemoView(console, STEPS) as view:
                hold = _holder(console, view) if keep else None
                result = asyncio.run(run_demo(view, options, Path(tmp), hold))
        except Exception as exc:  # whatever stopped it: one line, no traceback
            return _reason(exc)
    view.summary(result.balances, result.checks)  # after the live view has gone
    return "" if result.checks.passed else result.checks.failure_reason()


def _holder(console: Console, view: DemoView) -> Callable[[DemoResult, KeptStack], Awaitable[None]]:
    """The ``--keep`` pause: show the outcome and the dashboard, then wait for Ctrl-C."""

    async def hold(result: DemoResult, kept: KeptStack) -> None:
        view.close()
        view.summary(result.balances, result.checks)
        if not result.checks.passed:
            console.print(f"[red]demo failed:[/] {result.checks.failure_reason()}")
        # The key is for pasting into the page: it never goes into a URL.
        console.print(f"[bold]dashboard:[/] {kept.dashboard_url}")
        console.print(f"  client key (alice): {kept.client_key}")
        console.print(f"  admin key:          {kept.admin_key}")
        console.print("the stack keeps running; Ctrl-C stops everything", markup=False)
        await asyncio.Event().wait()

    return hold


def _reason(exc: BaseException) -> str:
    """One line for what stopped the run (the first real error inside task groups)."""
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    if isinstance(exc, TimeoutError):
        return "timed out waiting (see --timeout)"
    return f"{type(exc).__name__}: {exc}".splitlines()[0]
