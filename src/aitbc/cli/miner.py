"""``aitbc miner``: run the reference miner against a coordinator until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from ..errors import AITBCError, ConfigurationError
from ..miner import DEFAULT_EXECUTORS, Miner, MinerConfig
from .failures import describe

DEFAULT_KEY_FILE = Path.home() / ".aitbc" / "miner-key.json"


def register(app: typer.Typer) -> None:
    """Add the ``miner`` command to the ``aitbc`` CLI."""
    app.command("miner")(miner_command)


def miner_command(
    coordinator: Annotated[
        str, typer.Option(envvar="AITBC_COORDINATOR", help="Node URL, e.g. http://127.0.0.1:8000")
    ],
    api_key: Annotated[str, typer.Option(envvar="AITBC_API_KEY", help="A miner API key")],
    executors: Annotated[
        str, typer.Option(help="Comma-separated executors (job types) to serve")
    ] = ",".join(DEFAULT_EXECUTORS),
    key_file: Annotated[
        Path, typer.Option(envvar="AITBC_MINER_KEY_FILE", help="Ed25519 key, created if absent")
    ] = DEFAULT_KEY_FILE,
    ephemeral_key: Annotated[
        bool, typer.Option(help="Use a fresh key that is never written to disk")
    ] = False,
    poll_wait: Annotated[float, typer.Option(help="Long-poll seconds (0..30)")] = 10.0,
    max_concurrency: Annotated[int, typer.Option(help="Jobs run at once")] = 1,
    heartbeat_interval: Annotated[float, typer.Option(help="Max seconds between beats")] = 10.0,
    shutdown_grace: Annotated[
        float, typer.Option(help="Seconds an in-flight job may finish after a stop signal")
    ] = 10.0,
    model: Annotated[list[str] | None, typer.Option(help="A model served (repeatable)")] = None,
    gpu_memory_gb: Annotated[int, typer.Option(help="GPU memory to advertise")] = 0,
    region: Annotated[str | None, typer.Option(help="Region to advertise")] = None,
    min_price: Annotated[int, typer.Option(help="Least price (base units) of a job")] = 0,
    offer_price: Annotated[
        int | None, typer.Option(help="Publish an offer for the models at this price per unit")
    ] = None,
    offer_unit: Annotated[str, typer.Option(help="What the offer prices: job, token, item")] = (
        "job"
    ),
    offer_max_units: Annotated[
        int | None, typer.Option(help="Most units one job may buy (e.g. max tokens)")
    ] = None,
    blob_cache_dir: Annotated[
        Path | None, typer.Option(help="Cache blobs (e.g. ONNX models) here by hash")
    ] = None,
    output_interval: Annotated[
        float, typer.Option(help="Least seconds between two posts of a job's streamed output")
    ] = 0.025,
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR")] = "INFO",
) -> None:
    """Serve jobs from a coordinator: register, heartbeat, poll, run, co-sign, submit.

    Stops gracefully on SIGINT or SIGTERM. Exit statuses are those of the client commands
    (aitbc.cli.failures): 0 after a clean stop, 2 for bad options, 3 when the node cannot
    be reached, 4 when it refuses the key or the action, 1 for other failures.
    """
    _configure_logging(log_level)
    try:
        config = MinerConfig(
            coordinator=coordinator,
            api_key=api_key,
            executors=[name for name in executors.split(",") if name.strip()],
            key_file=None if ephemeral_key else key_file,
            poll_wait=poll_wait,
            max_concurrency=max_concurrency,
            heartbeat_interval=heartbeat_interval,
            shutdown_grace=shutdown_grace,
            models=model or [],
            gpu_memory_gb=gpu_memory_gb,
            region=region,
            min_price=min_price,
            offer_price=offer_price,
            offer_unit=offer_unit,
            offer_max_units=offer_max_units,
            blob_cache_dir=blob_cache_dir,
            output_interval=output_interval,
        )
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            code = runner.run(_serve(config))
    except ConfigurationError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    raise typer.Exit(code)


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop when it is installed (``aitbc[node]`` brings it), else
    asyncio's: every streamed token crosses the miner's loop (the executor thread's
    hand-off, the output posts), and uvloop does that work with less CPU."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


async def _serve(config: MinerConfig) -> int:
    miner = Miner(config)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, miner.stop)
    logging.getLogger("aitbc.miner").info(
        "miner key %s; serving %s at %s",
        miner.key.key_id,
        ", ".join(sorted(miner.executors)),
        config.coordinator,
    )
    try:
        await miner.run()
    except AITBCError as exc:
        failure = describe(exc, config.coordinator)
        typer.echo(f"error: {failure.message}", err=True)
        return failure.exit_code
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    stats = miner.stats
    typer.echo(
        f"miner stopped: {stats.completed} completed, {stats.failed} failed, {stats.lost} lost",
        err=True,
    )
    return 0


def _configure_logging(level: str) -> None:
    from rich.console import Console
    from rich.logging import RichHandler

    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise typer.BadParameter(f"unknown log level {level!r}", param_hint="--log-level")
    handler = RichHandler(console=Console(stderr=True), show_path=False)
    logging.basicConfig(level=numeric, format="%(message)s", handlers=[handler])
