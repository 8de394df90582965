"""``aitbc settle job|status|quote``: settle a completed job's payment on another chain.

The client settles locally through a :class:`~aitbc.transports.crosschain.CrossChainTransport`
(bridges ``layerzero`` and ``ccip``) whose chains come from a devnet config file
(``aitbc devnet`` writes one; ``--devnet-config``, ``AITBC_DEVNET_CONFIG`` or
``[settlement] devnet_config``). Settlements are tracked in a local store (``--storage``,
``AITBC_SETTLEMENT_STORAGE``, ``[settlement] storage``; default
``$XDG_DATA_HOME/aitbc/settlements.db``) so ``settle status`` can follow one later.
Needs the ``settlement`` extra.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from .. import AITBCClient
from ..errors import ConfigurationError
from .config import Settings
from .failures import EXIT_FAILED, Failure
from .invocation import Invocation, option, with_invocation
from .output import fields_table, money, when

BRIDGES = ("layerzero", "ccip")

settle_app = typer.Typer(help="Settle job payments across chains.", no_args_is_help=True)

DevnetOpt = Annotated[
    str | None,
    typer.Option(
        "--devnet-config", help="Devnet config file (env AITBC_DEVNET_CONFIG).", show_default=False
    ),
]
StorageOpt = Annotated[
    str | None,
    typer.Option(
        "--storage", help="Settlement store (env AITBC_SETTLEMENT_STORAGE).", show_default=False
    ),
]
KeyOpt = Annotated[
    str | None,
    typer.Option(
        "--key",
        help="Devnet key name or 0x private key paying fees (default payer).",
        show_default=False,
    ),
]
BridgeOpt = Annotated[
    str | None, typer.Option("--bridge", help="layerzero or ccip (default: the manager's).")
]
TargetOpt = Annotated[int, typer.Option("--target-chain", help="Chain id to settle on.")]
CompletedJobArg = Annotated[str, typer.Argument(help="A COMPLETED job (job_...).")]

# Flags only settlement needs, passed to the invocation under the same names.
_SETTLEMENT_OPTIONS = (
    option("devnet_config", DevnetOpt),
    option("storage", StorageOpt),
    option("key", KeyOpt),
)


def register(app: typer.Typer) -> None:
    """Add ``settle`` to the ``aitbc`` command."""
    app.add_typer(settle_app, name="settle")


def default_storage() -> str:
    """``$XDG_DATA_HOME/aitbc/settlements.db`` (``~/.local/share`` when unset)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return str(Path(base) / "aitbc" / "settlements.db")


def crosschain_config(settings: Settings, bridge: str | None) -> dict[str, Any]:
    """The CrossChainTransport config: the node as base transport, bridges from the
    devnet file. ConfigurationError when no devnet config is known."""
    if not settings.devnet_config:
        raise ConfigurationError(
            "no devnet config: pass --devnet-config, set AITBC_DEVNET_CONFIG or "
            "[settlement] devnet_config in the config file"
        )
    if bridge is not None and bridge not in BRIDGES and bridge != "chainlink":
        raise ConfigurationError(f"--bridge must be one of {', '.join(BRIDGES)}, got {bridge!r}")
    storage = settings.storage or default_storage()
    if "://" not in storage:
        Path(storage).parent.mkdir(parents=True, exist_ok=True)
    adapter = {"devnet_config": settings.devnet_config, "key": settings.key}
    enabled = [bridge] if bridge else list(BRIDGES)
    return {
        "base_transport": {"type": "http", **settings.transport_config()},
        "storage": storage,
        "bridges": {name: dict(adapter) for name in enabled},
        "poll_interval": 0.5,
    }


def _client(inv: Invocation, bridge: str | None) -> AITBCClient:
    from ..transports.crosschain import CrossChainTransport  # the settlement extra

    return AITBCClient(CrossChainTransport(crosschain_config(inv.settings, bridge)))


def _run(inv: Invocation, bridge: str | None, body: Any) -> Any:
    async def main() -> Any:
        inv.require_api_key()
        async with _client(inv, bridge) as client:
            return await body(client)

    return inv.run_async(main)


@settle_app.command("job")
@with_invocation(*_SETTLEMENT_OPTIONS)
def settle_job(
    inv: Invocation,
    job_id: CompletedJobArg,
    target_chain: TargetOpt,
    bridge: BridgeOpt = None,
    recipient: Annotated[
        str | None, typer.Option("--recipient", help="EVM address paid on the target chain.")
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait until it settles.")] = False,
    wait_timeout: Annotated[float, typer.Option("--wait-timeout", help="Seconds.")] = 600.0,
) -> None:
    """Verify the job's receipt, then settle its payment on --target-chain.

    Settling the same job again returns the same settlement. Exit status 1 when a
    waited-for settlement ends failed or refunded.
    """

    async def body(client: AITBCClient) -> Any:
        sent = await client.settlement.settle_cross_chain(
            job_id=job_id, target_chain_id=target_chain, bridge_name=bridge, recipient=recipient
        )
        if not wait:
            return sent
        inv.out.note(f"settlement {sent.message_id} sent through {sent.bridge_name}; waiting")
        with inv.out.busy("waiting for the destination chain"):
            return await client.settlement.wait_for_settlement(
                sent.message_id, timeout=wait_timeout, poll_interval=0.25
            )

    settlement = _run(inv, bridge, body)
    _show(inv, settlement)
    if wait and settlement.status != "completed":
        message = f"settlement {settlement.message_id} ended {settlement.status}"
        if settlement.error_message:
            message += f": {settlement.error_message}"
        inv.fail(Failure(message, f"settlement_{settlement.status}", EXIT_FAILED))


@settle_app.command("status")
@with_invocation(*_SETTLEMENT_OPTIONS)
def status(
    inv: Invocation,
    message_id: Annotated[str, typer.Argument(help="The settlement's message id.")],
    bridge: BridgeOpt = None,
) -> None:
    """Show a settlement's status, refreshed from the chain unless it is final."""
    settlement = _run(inv, bridge, lambda client: client.settlement.get_status(message_id))
    _show(inv, settlement)


@settle_app.command("quote")
@with_invocation(*_SETTLEMENT_OPTIONS)
def quote(
    inv: Invocation,
    job_id: CompletedJobArg,
    target_chain: TargetOpt,
    bridge: BridgeOpt = None,
) -> None:
    """Show the fee a bridge would charge to settle the job on --target-chain."""
    answer = _run(
        inv, bridge, lambda client: client.settlement.estimate_cost(job_id, target_chain, bridge)
    )
    rows = [
        ("bridge", answer.bridge_name),
        ("native fee", money(answer.native_fee)),
        ("token fee", money(answer.token_fee)),
        ("gas limit", answer.gas_limit),
    ]
    inv.out.result(answer, lambda c: c.print(fields_table(f"quote for {job_id}", rows)))


def _show(inv: Invocation, settlement: Any) -> None:
    rows = [
        ("status", settlement.status),
        ("bridge", settlement.bridge_name),
        ("transaction", settlement.transaction_hash),
        ("fee paid", None if settlement.fee_paid is None else money(settlement.fee_paid)),
        ("error", settlement.error_message),
        ("updated", when(settlement.updated_at)),
    ]
    inv.out.result(
        settlement, lambda c: c.print(fields_table(f"settlement {settlement.message_id}", rows))
    )
