"""``aitbc devnet``: start local chains with the settlement contracts and a relayer.

Runs until Ctrl-C, then stops every chain. The config file it writes is what the SDK's
``layerzero`` / ``ccip`` adapters read (``devnet_config`` key or AITBC_DEVNET_CONFIG).
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Annotated

import typer

from ..errors import ConfigurationError

DEFAULT_CONFIG = Path(".devnet/devnet.json")


def _parse_chain_ids(text: str) -> list[int]:
    try:
        ids = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise typer.BadParameter(
            f"chain ids must be integers separated by commas, got {text!r}"
        ) from None
    if len(ids) < 2 or len(set(ids)) != len(ids) or min(ids) <= 0:
        raise typer.BadParameter("give two or more distinct positive chain ids, e.g. 1,42161")
    return ids


def devnet(
    chains: Annotated[
        str, typer.Option("--chains", help="Comma-separated EVM chain ids.")
    ] = "1,42161",
    backend: Annotated[
        str, typer.Option("--backend", help="pyevm (in-process) or anvil.")
    ] = "pyevm",
    config_out: Annotated[
        Path, typer.Option("--config-out", help="Where to write the devnet config JSON.")
    ] = DEFAULT_CONFIG,
) -> None:
    """Start a local multi-chain devnet and keep it running until Ctrl-C."""
    chain_ids = _parse_chain_ids(chains)
    try:
        asyncio.run(_run(chain_ids, backend, config_out))
    except ConfigurationError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    except KeyboardInterrupt:
        pass


async def _run(chain_ids: list[int], backend: str, config_out: Path) -> None:
    from ..devnet import Devnet  # the devnet extra is only needed when the command runs

    async with Devnet(chain_ids, backend, config_out=config_out) as net:
        for chain in net.config.chains:
            typer.echo(
                f"chain {chain.chain_id}: {chain.rpc_url} (LayerZero eid {chain.lz_eid}, "
                f"CCIP selector {chain.ccip_selector})"
            )
        typer.echo(f"config written to {config_out}; relayer running. Ctrl-C to stop.")
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.Event().wait()


def register(app: typer.Typer) -> None:
    """Add the ``devnet`` command to the ``aitbc`` CLI."""
    app.command("devnet")(devnet)
