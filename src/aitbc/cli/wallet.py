"""``aitbc wallet balance|transfer|history``: your account on the node's ledger."""

from __future__ import annotations

from typing import Annotated

import typer

from .. import AITBCClient
from ..models import Transfer
from .inputs import page_size, parse_amount
from .invocation import Invocation, with_invocation
from .output import fields_table, list_table, money, when

wallet_app = typer.Typer(help="Balance, transfers and ledger history.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add ``wallet`` to the ``aitbc`` command."""
    app.add_typer(wallet_app, name="wallet")


@wallet_app.command("balance")
@with_invocation()
def balance(inv: Invocation) -> None:
    """Show your spendable balance and what is escrowed for open jobs (base units)."""
    answer = inv.run(lambda client: client.wallet.balance())
    rows = [("balance", money(answer.balance)), ("escrowed", money(answer.escrowed))]
    inv.out.result(answer, lambda c: c.print(fields_table(f"account {answer.account_id}", rows)))


# ignore_unknown_options: "-5" reaches our amount check (one clear line), not click's
# "no such option" usage box.
@wallet_app.command("transfer", context_settings={"ignore_unknown_options": True})
@with_invocation()
def transfer(
    inv: Invocation,
    to: Annotated[str, typer.Argument(help="Recipient principal id (prn_...).")],
    amount: Annotated[str, typer.Argument(help="Base units to send (a whole number > 0).")],
    memo: Annotated[str | None, typer.Option("--memo", help="A note kept with it.")] = None,
    idempotency_key: Annotated[
        str | None, typer.Option("--idempotency-key", help="Reuse to move the money once.")
    ] = None,
) -> None:
    """Send base units from your account to another principal."""
    try:
        units = parse_amount(amount, "amount", positive=True) or 0
    except ValueError as exc:
        inv.fail_with(exc)

    async def run(client: AITBCClient) -> Transfer:
        return await client.wallet.transfer(to, units, memo=memo, idempotency_key=idempotency_key)

    sent = inv.run(run)
    inv.out.result(
        sent, lambda c: c.print(f"sent {money(sent.amount)} to {sent.to_account} ({sent.id})")
    )


@wallet_app.command("history")
@with_invocation()
def history(
    inv: Invocation,
    limit: Annotated[int, typer.Option("--limit", help="How many entries at most.")] = 20,
) -> None:
    """List ledger movements touching your account, newest first."""
    items = inv.run(
        lambda client: client.wallet.history(limit=page_size(limit)).to_list(max(limit, 0))
    )
    columns = ("id", "kind", "from", "to", "amount", "job", "created")
    rows = [
        (t.id, t.kind, t.from_account, t.to_account, money(t.amount), t.job_id, when(t.created_at))
        for t in items
    ]
    inv.out.result({"items": items}, lambda c: c.print(list_table("history", columns, rows)))
