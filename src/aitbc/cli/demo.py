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
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from ..demo import DemoOptions

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
) -> None:
    """Run the marketplace end to end on this machine and check every step.

    Starts a node (SQLite in a temp dir), two miners and a py-evm devnet (chains 1 and
    42161), runs the jobs, verifies receipts, settles through layerzero and ccip and
    balances the books. Everything started is stopped and every temporary file removed
    on exit, Ctrl-C included. Exit status: 0 when all checks passed, 1 otherwise (with a
    one-line reason), 130 when interrupted.
    """
    console = Console(highlight=False)
    # The libraries' logs would scroll the live view away; the view says what happens.
    logging.disable(logging.CRITICAL)
    try:
        from ..demo import DemoOptions  # the node and devnet extras, needed only here

        options = DemoOptions(jobs=jobs, settle_per_bridge=settle_per_bridge, timeout=timeout)
        reason = _run(console, options)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted: node, miners and devnet stopped, temp files removed")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    finally:
        logging.disable(logging.NOTSET)
    if reason:
        console.print(f"[red]demo failed:[/] {reason}")
        raise typer.Exit(1)


def _run(console: Console, options: DemoOptions) -> str:
    """Run the demo in a temp dir; '' when every check passed, else the reason."""
    from ..demo import DemoView, run_demo
    from ..demo.run import STEPS

    # The directory outlives the event loop, so it is removed only after every task and
    # thread (uvicorn, miners, the devnet, SQLite) has stopped, however the run ended.
    with tempfile.TemporaryDirectory(prefix="aitbc-demo-") as tmp:
        try:
            with DemoView(console, STEPS) as view:
                result = asyncio.run(run_demo(view, options, Path(tmp)))
        except Exception as exc:  # whatever stopped it: one line, no traceback
            return _reason(exc)
    view.summary(result.balances, result.checks)  # after the live view has gone
    return "" if result.checks.passed else result.checks.failure_reason()


def _reason(exc: BaseException) -> str:
    """One line for what stopped the run (the first real error inside task groups)."""
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    if isinstance(exc, TimeoutError):
        return "timed out waiting (see --timeout)"
    return f"{type(exc).__name__}: {exc}".splitlines()[0]
